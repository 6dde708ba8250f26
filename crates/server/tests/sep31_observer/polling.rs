//! Polling.

//! SEP-31's status machine (§GET Transaction, `status`; docs/payments.md
//! §Status machine): which status may follow which, and who moves it.

/// A SEP-31 transaction status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Awaiting the sending anchor's payment.
    PendingSender,
    /// Submitted to Stellar, not yet confirmed. Never entered here: Horizon
    /// reports only payments already in a closed ledger.
    PendingStellar,
    /// The sending anchor must update a customer through SEP-12.
    PendingCustomerInfoUpdate,
    /// Paid; the receiving anchor is processing it.
    PendingReceiver,
    /// Paid out on an external network, not yet confirmed.
    PendingExternal,
    /// Delivered to the receiver.
    Completed,
    /// Refunded to the sending anchor.
    Refunded,
    /// Never paid.
    Expired,
    /// Anything else.
    Error,
}

/// Every status, in the order SEP-31 lists them.
pub const ALL: [Status; 9] = [
    Status::PendingSender,
    Status::PendingStellar,
    Status::PendingCustomerInfoUpdate,
    Status::PendingReceiver,
    Status::PendingExternal,
    Status::Completed,
    Status::Refunded,
    Status::Expired,
    Status::Error,
];

impl Status {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::PendingSender => "pending_sender",
            Status::PendingStellar => "pending_stellar",
            Status::PendingCustomerInfoUpdate => "pending_customer_info_update",
            Status::PendingReceiver => "pending_receiver",
            Status::PendingExternal => "pending_external",
            Status::Completed => "completed",
            Status::Refunded => "refunded",
            Status::Expired => "expired",
            Status::Error => "error",
        }
    }

    /// From the wire name.
    pub fn parse(s: &str) -> Option<Status> {
        ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// No status follows it.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Completed | Status::Refunded | Status::Expired | Status::Error
        )
    }

    /// Where staff (the business server, `mooring admin transactions`) may
    /// move a transaction in this status. Payment and expiry are the
    /// observer's; `refunded` is reached by a refund, which records its
    /// payment.
    pub fn staff_may_move_to(self) -> &'static [Status] {
        use Status::*;
        match self {
            PendingSender | PendingStellar => &[Error],
            PendingReceiver => &[PendingExternal, Completed, PendingCustomerInfoUpdate, Error],
            PendingExternal => &[Completed, Error],
            PendingCustomerInfoUpdate => &[PendingReceiver, Error],
            Completed | Refunded | Expired | Error => &[],
        }
    }

    /// Whether a refund may end a transaction in this status: once paid,
    /// before it is final.
    pub fn refundable(self) -> bool {
        matches!(
            self,
            Status::PendingReceiver | Status::PendingExternal | Status::PendingCustomerInfoUpdate
        )
    }

    /// The 409 text for a move to `to` that is not allowed.
    pub fn refusal(self, to: &str) -> String {
        let mut next: Vec<&str> = self
            .staff_may_move_to()
            .iter()
            .map(|s| s.as_str())
            .collect();
        if self.refundable() {
            next.push("refunded (by a refund)");
        }
        if self.is_final() {
            format!(
                "the transaction is {}, which is final; it cannot move to {to}",
                self.as_str()
            )
        } else {
            format!(
                "the transaction is {}; it can move to {}, not to {to}",
                self.as_str(),
                next.join(", ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_final_statuses_lead_nowhere() {
        for s in ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            if s.is_final() {
                assert!(s.staff_may_move_to().is_empty() && !s.refundable());
            }
        }
        assert_eq!(Status::parse("pending_transaction_info_update"), None);
        assert_eq!(
            Status::PendingSender.refusal("completed"),
            "the transaction is pending_sender; it can move to error, not to completed"
        );
    }
}

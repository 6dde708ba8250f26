//! The coverage-guided driver: `MOORING_FUZZ_TARGET=<harness> cargo afl
//! fuzz …` over this binary, built with `cargo afl build --features afl`
//! (README §Fuzzing). Without the feature it replays stdin once, which is
//! also how a crash AFL++ found is reproduced, or each file named on the
//! command line in turn (a whole corpus under a leak checker, say).

fn main() {
    let name = std::env::var("MOORING_FUZZ_TARGET").unwrap_or_default();
    let Some(harness) = mooring_fuzz::harness(&name) else {
        let names: Vec<_> = mooring_fuzz::HARNESSES.iter().map(|(n, _)| *n).collect();
        eprintln!("set MOORING_FUZZ_TARGET to one of: {}", names.join(", "));
        std::process::exit(2);
    };
    #[cfg(feature = "afl")]
    afl::fuzz!(|data: &[u8]| harness(data));
    #[cfg(not(feature = "afl"))]
    {
        use std::io::Read as _;
        let files: Vec<_> = std::env::args_os().skip(1).collect();
        if files.is_empty() {
            let mut data = Vec::new();
            std::io::stdin()
                .read_to_end(&mut data)
                .expect("stdin reads");
            harness(&data);
        }
        for f in files {
            let data = std::fs::read(&f)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", f.to_string_lossy()));
            harness(&data);
        }
    }
}

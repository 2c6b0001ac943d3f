//! One seedwatch fuzz target under AFL++: `seedwatch-afl TARGET` reads inputs from AFL's
//! persistent loop (`cargo afl fuzz -i IN -o OUT target/release/seedwatch-afl TARGET`).

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    let Some(target) = seedwatch_fuzz::target(&name) else {
        let names: Vec<&str> = seedwatch_fuzz::TARGETS.iter().map(|t| t.name).collect();
        eprintln!("usage: seedwatch-afl TARGET (one of {})", names.join(", "));
        std::process::exit(2);
    };
    afl::fuzz!(|data: &[u8]| {
        (target.run)(data);
    });
}

//! Writes each target's seed corpus to `DIR/<target>/` for `afl-fuzz -i`.

fn main() -> std::io::Result<()> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "afl-seeds".into()));
    for target in seedwatch_fuzz::TARGETS {
        let out = dir.join(target.name);
        std::fs::create_dir_all(&out)?;
        for (i, seed) in (target.seeds)().iter().enumerate() {
            std::fs::write(out.join(format!("seed-{i}")), seed)?;
        }
    }
    Ok(())
}

//! The `seedwatch` binary.

mod cli;

// The pipeline allocates and frees request-sized buffers at a high rate; glibc's allocator
// spent about a fifth of the CPU time on that under load (perf), mimalloc far less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}

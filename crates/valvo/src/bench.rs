//! `valvo bench`: page render and API timings over the demo county.

/// Options of `valvo bench`.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Requests per endpoint.
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
}

/// Runs the benchmark.
pub async fn run(_args: &BenchArgs, _database_url: Option<String>) -> Result<(), String> {
    Err("not implemented yet".into())
}

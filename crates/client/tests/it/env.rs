//! `--url` and `--token` default from `DAEDALUS_URL` and `DAEDALUS_TOKEN`. The test runs its
//! checks in child processes of this binary, each with its own environment, so the variables
//! never reach the other tests, which run in threads of this process.

use std::process::Command;

use clap::Parser;
use daedalus_client::cli::Cli;
use daedalus_client::DEFAULT_URL;

/// Names which check a child process runs.
const CHILD: &str = "DAEDALUS_CLIENT_TEST_ENV_CHILD";
const TEST: &str = "env::url_and_token_come_from_the_environment";

fn run_child(check: &str, env: &[(&str, &str)]) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", TEST])
        .env(CHILD, check)
        .env_remove("DAEDALUS_URL")
        .env_remove("DAEDALUS_TOKEN")
        .envs(env.iter().copied());
    let out = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{check}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The filter matched the test: it ran in the child and passed there.
    assert!(stdout.contains("1 passed"), "{check}: {stdout}");
}

#[test]
fn url_and_token_come_from_the_environment() {
    match std::env::var(CHILD).as_deref() {
        Ok("with-env") => {
            let cli = Cli::try_parse_from(["daedalus", "status"]).unwrap();
            let flags =
                Cli::try_parse_from(["daedalus", "--url", "http://flag:1", "status"]).unwrap();
            assert_eq!(cli.global.url, "http://from-env:9");
            assert_eq!(cli.global.token.as_deref(), Some("env-token"));
            assert_eq!(flags.global.url, "http://flag:1");
        }
        Ok("without-env") => {
            let cli = Cli::try_parse_from(["daedalus", "status"]).unwrap();
            assert_eq!(cli.global.url, DEFAULT_URL);
            assert_eq!(cli.global.token, None);
        }
        _ => {
            run_child(
                "with-env",
                &[
                    ("DAEDALUS_URL", "http://from-env:9"),
                    ("DAEDALUS_TOKEN", "env-token"),
                ],
            );
            run_child("without-env", &[]);
        }
    }
}

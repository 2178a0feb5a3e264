//! `--url` and `--token` default from `DAEDALUS_URL` and `DAEDALUS_TOKEN`. Alone in its own test
//! binary because it changes the process environment.

use clap::Parser;
use daedalus_client::cli::Cli;
use daedalus_client::DEFAULT_URL;

#[test]
fn url_and_token_come_from_the_environment() {
    std::env::set_var("DAEDALUS_URL", "http://from-env:9");
    std::env::set_var("DAEDALUS_TOKEN", "env-token");
    let cli = Cli::try_parse_from(["daedalus", "status"]).unwrap();
    let flags = Cli::try_parse_from(["daedalus", "--url", "http://flag:1", "status"]).unwrap();
    std::env::remove_var("DAEDALUS_URL");
    std::env::remove_var("DAEDALUS_TOKEN");
    assert_eq!(cli.global.url, "http://from-env:9");
    assert_eq!(cli.global.token.as_deref(), Some("env-token"));
    assert_eq!(flags.global.url, "http://flag:1");

    let cli = Cli::try_parse_from(["daedalus", "status"]).unwrap();
    assert_eq!(cli.global.url, DEFAULT_URL);
    assert_eq!(cli.global.token, None);
}

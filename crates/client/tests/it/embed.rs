//! The commands embed in another clap parser the way the README shows for the `daedalus` binary:
//! `GlobalArgs` flattened at the top, `Command` flattened next to a `serve` subcommand.

use clap::{Args, CommandFactory, Parser, Subcommand};
use daedalus_client::cli::{Command as ClientCommand, GlobalArgs, OpCommand};

#[derive(Parser)]
#[command(name = "daedalus")]
struct Top {
    #[command(flatten)]
    client: GlobalArgs,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    Serve(ServeArgs),
    #[command(flatten)]
    Client(ClientCommand),
}

#[derive(Args)]
struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1:4567")]
    listen: String,
    #[arg(long)]
    jmx_timeout: Option<u64>,
}

#[test]
fn the_embedding_parser_is_consistent() {
    Top::command().debug_assert();
}

#[test]
fn op_submit_parses_inside_the_binary_parser() {
    let top = Top::try_parse_from([
        "daedalus",
        "op",
        "submit",
        "import",
        "--keyspace",
        "ks",
        "--table",
        "t",
        "--source-dir",
        "/x",
        "--wait",
        "--url",
        "http://n:1",
        "--json",
    ])
    .unwrap();
    assert_eq!(top.client.url, "http://n:1");
    assert!(top.client.json);
    match top.command {
        Some(Cmd::Client(ClientCommand::Op(OpCommand::Submit(args)))) => {
            assert!(args.wait.wait);
            assert_eq!(args.keyspace.as_deref(), Some("ks"));
        }
        _ => panic!("not op submit"),
    }
}

#[test]
fn serve_and_bare_invocations_still_parse() {
    let top = Top::try_parse_from(["daedalus", "serve", "--listen", "0.0.0.0:1"]).unwrap();
    match top.command {
        Some(Cmd::Serve(s)) => {
            assert_eq!(s.listen, "0.0.0.0:1");
            assert_eq!(s.jmx_timeout, None);
        }
        _ => panic!("not serve"),
    }
    assert!(Top::try_parse_from(["daedalus"]).unwrap().command.is_none());
    let status = Top::try_parse_from(["daedalus", "status"]).unwrap();
    assert!(matches!(
        status.command,
        Some(Cmd::Client(ClientCommand::Status))
    ));
}

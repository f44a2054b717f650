//! The `discordgateway` command line.

fn main() {
    eprintln!("discordgateway: no commands yet");
}

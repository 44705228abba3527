//! The `wasm-bindgen` step of `scripts/worker-build.mjs`: the flags that build uses, over
//! `wasm-bindgen-cli-support` (the library the real CLI wraps). The real `wasm-bindgen-cli`
//! crate also builds the test runner and its HTTP server, which is most of its compile time
//! on a fresh machine; this binary is the same generator without them.
//!
//! `wasm-bindgen --version` prints `wasm-bindgen <version>` like the real CLI, so
//! `scripts/setup.sh` can tell whether the cached build matches `Cargo.lock`.

use std::process::ExitCode;

use wasm_bindgen_cli_support::Bindgen;

const VERSION: &str = "0.2.130";
const USAGE: &str = "usage: wasm-bindgen <input.wasm> --out-dir <dir> [--out-name <name>] \
[--target module|bundler] [--no-typescript] [--experimental-reset-state-function] \
[--force-enable-abort-handler]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version" || a == "-V") {
        println!("wasm-bindgen {VERSION}");
        return ExitCode::SUCCESS;
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("wasm-bindgen: {message}\n{USAGE}");
            ExitCode::FAILURE
        }
    }
}

/// Parses the arguments into a configured generator and writes its output.
fn run(args: &[String]) -> Result<(), String> {
    let mut bindgen = Bindgen::new();
    let (mut input, mut out_dir) = (None, None);
    let mut typescript = true;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--out-dir" => out_dir = Some(value()?.clone()),
            "--out-name" => {
                bindgen.out_name(value()?);
            }
            "--target" => match value()?.as_str() {
                "module" => bindgen.module(true).map(drop).map_err(|e| e.to_string())?,
                "bundler" => bindgen.bundler(true).map(drop).map_err(|e| e.to_string())?,
                other => return Err(format!("unsupported --target {other}")),
            },
            "--no-typescript" => typescript = false,
            "--experimental-reset-state-function" => {
                bindgen.reset_state_function(true);
            }
            "--force-enable-abort-handler" => {
                bindgen.force_enable_abort_handler(true);
            }
            flag if flag.starts_with('-') => return Err(format!("unsupported flag {flag}")),
            path if input.is_none() => input = Some(path.to_string()),
            extra => return Err(format!("unexpected argument {extra}")),
        }
    }
    let input = input.ok_or("no input file")?;
    let out_dir = out_dir.ok_or("no --out-dir")?;
    bindgen.input_path(&input).typescript(typescript);
    bindgen.generate(&out_dir).map_err(|e| format!("{e:#}"))
}

//! End-to-end tests: one `wrangler dev` (fresh local state) shared by every trial (and a second,
//! tuned one that the trials needing other limits start on demand), driven over
//! real HTTP and WebSockets. The `storage` and crash trials start servers of their own: on
//! a copy of a state fixture (`tests/fixtures/`), and on a state dir they `kill -9` and
//! restart. Run with `cargo test --test e2e` (node >= 22 on PATH: use
//! `. scripts/lib.sh; tools_path` first); the usual libtest filters and flags work.

/// `group => [functions]` → trials named `group::function` (each on the shared server).
macro_rules! trials {
    ($($group:literal => [$($f:ident),* $(,)?]),* $(,)?) => {
        vec![$($(trial(concat!($group, "::", stringify!($f)), $f)),*),*]
    };
}

mod auth;
mod boundary;
mod common;
mod conversation;
mod conversation_api;
mod conversation_d1;
mod conversation_edits;
mod conversation_limits;
mod conversation_members;
mod conversation_sync;
mod durability;
mod frames;
mod gateway;
mod http;
mod inbox;
mod inbox_sync;
mod jwks;
mod key_algorithms;
mod org;
mod org_presence;
mod outbox;
mod presence_batch;
mod push;
mod reads;
mod recovery;
mod revocation;
mod session;
mod session_sync;
mod socket;
mod storage;
mod storage_untouched;
mod webhooks;

use libtest_mimic::Arguments;

fn main() {
    let args = Arguments::from_args();
    let mut trials = http::trials();
    trials.extend(socket::trials());
    trials.extend(auth::trials());
    trials.extend(boundary::trials());
    trials.extend(conversation::trials());
    trials.extend(conversation_api::trials());
    trials.extend(conversation_d1::trials());
    trials.extend(conversation_edits::trials());
    trials.extend(conversation_limits::trials());
    trials.extend(conversation_members::trials());
    trials.extend(conversation_sync::trials());
    trials.extend(gateway::trials());
    trials.extend(frames::trials());
    trials.extend(inbox::trials());
    trials.extend(inbox_sync::trials());
    trials.extend(session::trials());
    trials.extend(session_sync::trials());
    trials.extend(jwks::trials());
    trials.extend(key_algorithms::trials());
    trials.extend(org::trials());
    trials.extend(org_presence::trials());
    trials.extend(outbox::trials());
    trials.extend(presence_batch::trials());
    trials.extend(push::trials());
    trials.extend(reads::trials());
    trials.extend(recovery::trials());
    trials.extend(revocation::trials());
    trials.extend(storage::trials());
    trials.extend(storage_untouched::trials());
    trials.extend(durability::trials());
    trials.extend(webhooks::trials());
    if args.list {
        libtest_mimic::run(&args, trials).exit();
    }
    common::install_panic_hook();
    if let Err(why) = common::start_shared() {
        eprintln!("e2e: could not start the server under test\n{why}");
        std::process::exit(101);
    }
    let conclusion = libtest_mimic::run(&args, trials);
    common::stop_shared(conclusion.has_failed());
    conclusion.exit();
}

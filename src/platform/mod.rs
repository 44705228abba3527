//! Everything that touches the Workers runtime: the fetch entry, the HTTP API, the three
//! Durable Objects and their sockets and storage. The only code that imports `worker`.

pub mod api;
pub mod config;
pub mod dev;
pub mod entry;
pub mod event_log;
pub mod http;
pub mod idempotency;
pub mod internal;
pub mod notify;
pub mod objects;
pub mod outbox;
pub mod presence;
pub mod room_store;
pub mod socket;
pub mod transaction;

/// 64 random bits from the runtime's CSPRNG (zero natively, where nothing calls it).
pub fn random_u64() -> u64 {
    #[cfg_attr(not(target_arch = "wasm32"), allow(unused_mut))]
    let mut b = [0u8; 8];
    #[cfg(target_arch = "wasm32")]
    let _ = getrandom::getrandom(&mut b);
    u64::from_le_bytes(b)
}

/// A new message / notification / event id: 20 lowercase base-32 characters, time-ordered
/// prefix (so ids sort roughly by creation) and 60 random bits.
pub fn new_id() -> String {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let time = socket::now_ms() as u64;
    let rand = random_u64();
    let mut out = String::with_capacity(20);
    for i in (0..8).rev() {
        out.push(ALPHABET[((time >> (i * 5)) & 31) as usize] as char);
    }
    for i in 0..12 {
        out.push(ALPHABET[((rand >> (i * 5)) & 31) as usize] as char);
    }
    out
}

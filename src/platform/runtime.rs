//! The runtime's clock and randomness, and the ids built from them. Natively (unit tests)
//! randomness is zero, since nothing there calls it.

/// Milliseconds since the Unix epoch, from the runtime's clock.
pub fn now_ms() -> i64 {
    worker::Date::now().as_millis() as i64
}

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
    let time = now_ms() as u64;
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

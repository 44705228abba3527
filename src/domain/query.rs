//! The query string of a request URL, decoded as `application/x-www-form-urlencoded` (what
//! browsers and `URLSearchParams` send): `+` is a space, `%XX` a byte, and a value that is
//! not UTF-8 after decoding is replaced lossily. The Worker reads the URL that the runtime
//! has already parsed and serialised, so only the query part needs decoding here (the `url`
//! crate with its IDNA tables was most of a tenth of the Wasm for this).

/// The decoded `name=value` pairs of a URL's query, in order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// The query of a whole URL (the part between the first `?` and any `#`).
    pub fn of_url(url: &str) -> Self {
        let without_fragment = url.split('#').next().unwrap_or("");
        match without_fragment.split_once('?') {
            Some((_, query)) => Self::parse(query),
            None => Self::default(),
        }
    }

    /// A query string without its leading `?`. Empty pieces (`a=1&&b=2`) are skipped; a
    /// piece without `=` is a name with an empty value.
    pub fn parse(query: &str) -> Self {
        let pairs = query
            .split('&')
            .filter(|piece| !piece.is_empty())
            .map(|piece| {
                let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
                (decode(name), decode(value))
            })
            .collect();
        Self { pairs }
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `name` is present with exactly `value`.
    pub fn has(&self, name: &str, value: &str) -> bool {
        self.pairs.iter().any(|(n, v)| n == name && v == value)
    }
}

/// Decodes one form-urlencoded component; a `%` not followed by two hex digits stays as is.
fn decode(component: &str) -> String {
    let bytes = component.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match escaped(bytes.get(i + 1..i + 3)) {
                Some(byte) => {
                    out.push(byte);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The byte of the two hex digits after a `%`, if they are two hex digits.
fn escaped(digits: Option<&[u8]>) -> Option<u8> {
    match digits? {
        [hi, lo] => Some(hex(*hi)? << 4 | hex(*lo)?),
        _ => None,
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_decode_like_url_search_params() {
        let q = Query::of_url(
            "https://h.example/ws/chat/?since=42&name=Ana+Mar%C3%ADa&token=a%2Bb#x=1",
        );
        assert_eq!(q.get("since"), Some("42"));
        assert_eq!(q.get("name"), Some("Ana María"));
        assert_eq!(q.get("token"), Some("a+b"));
        assert_eq!(q.get("x"), None, "the fragment is not part of the query");
    }

    #[test]
    fn first_value_wins_and_bare_names_are_empty() {
        let q = Query::parse("a=1&a=2&&flag&b=");
        assert_eq!(q.get("a"), Some("1"));
        assert_eq!(q.get("flag"), Some(""));
        assert_eq!(q.get("b"), Some(""));
        assert!(q.has("a", "2") && !q.has("a", "3"));
    }

    #[test]
    fn malformed_escapes_stay_and_bad_utf8_is_replaced() {
        assert_eq!(Query::parse("v=100%").get("v"), Some("100%"));
        assert_eq!(Query::parse("v=%zz%4").get("v"), Some("%zz%4"));
        assert_eq!(Query::parse("v=%FF").get("v"), Some("\u{FFFD}"));
        assert_eq!(Query::parse("v=a%3D%26b").get("v"), Some("a=&b"));
    }

    #[test]
    fn no_query_is_empty() {
        assert_eq!(Query::of_url("https://h.example/healthz"), Query::default());
        assert_eq!(Query::of_url("https://h.example/?"), Query::default());
    }
}

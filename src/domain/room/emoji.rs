//! What counts as an emoji in a reaction: one or more emoji sequences as Unicode's
//! emoji grammar (UTS #51) builds them from Extended_Pictographic characters, skin tones,
//! VS16, ZWJ, regional-indicator flags, keycaps and tag sequences. Letters of any script,
//! invisible characters and bidi controls are not emoji.

/// Extended_Pictographic, from Unicode's emoji-data.txt. It includes code points reserved
/// for future emoji, so emoji added after this table was written still pass.
#[rustfmt::skip]
const PICTOGRAPHIC: &[(u32, u32)] = &[
    (0xA9, 0xA9), (0xAE, 0xAE), (0x203C, 0x203C), (0x2049, 0x2049), (0x2122, 0x2122),
    (0x2139, 0x2139), (0x2194, 0x2199), (0x21A9, 0x21AA), (0x231A, 0x231B), (0x2328, 0x2328),
    (0x2388, 0x2388), (0x23CF, 0x23CF), (0x23E9, 0x23F3), (0x23F8, 0x23FA), (0x24C2, 0x24C2),
    (0x25AA, 0x25AB), (0x25B6, 0x25B6), (0x25C0, 0x25C0), (0x25FB, 0x25FE), (0x2600, 0x2605),
    (0x2607, 0x2612), (0x2614, 0x2685), (0x2690, 0x2705), (0x2708, 0x2712), (0x2714, 0x2714),
    (0x2716, 0x2716), (0x271D, 0x271D), (0x2721, 0x2721), (0x2728, 0x2728), (0x2733, 0x2734),
    (0x2744, 0x2744), (0x2747, 0x2747), (0x274C, 0x274C), (0x274E, 0x274E), (0x2753, 0x2755),
    (0x2757, 0x2757), (0x2763, 0x2767), (0x2795, 0x2797), (0x27A1, 0x27A1), (0x27B0, 0x27B0),
    (0x27BF, 0x27BF), (0x2934, 0x2935), (0x2B05, 0x2B07), (0x2B1B, 0x2B1C), (0x2B50, 0x2B50),
    (0x2B55, 0x2B55), (0x3030, 0x3030), (0x303D, 0x303D), (0x3297, 0x3297), (0x3299, 0x3299),
    (0x1F000, 0x1F0FF), (0x1F10D, 0x1F10F), (0x1F12F, 0x1F12F), (0x1F16C, 0x1F171),
    (0x1F17E, 0x1F17F), (0x1F18E, 0x1F18E), (0x1F191, 0x1F19A), (0x1F1AD, 0x1F1E5),
    (0x1F201, 0x1F20F), (0x1F21A, 0x1F21A), (0x1F22F, 0x1F22F), (0x1F232, 0x1F23A),
    (0x1F23C, 0x1F23F), (0x1F249, 0x1F3FA), (0x1F400, 0x1F53D), (0x1F546, 0x1F64F),
    (0x1F680, 0x1F6FF), (0x1F774, 0x1F77F), (0x1F7D5, 0x1F7FF), (0x1F80C, 0x1F80F),
    (0x1F848, 0x1F84F), (0x1F85A, 0x1F85F), (0x1F888, 0x1F88F), (0x1F8AE, 0x1F8FF),
    (0x1F90C, 0x1F93A), (0x1F93C, 0x1F945), (0x1F947, 0x1FAFF), (0x1FC00, 0x1FFFD),
];

const ZWJ: char = '\u{200D}';
const VS16: char = '\u{FE0F}';
const KEYCAP: char = '\u{20E3}';
/// The only base of the RGI tag sequences (subdivision flags such as Scotland's).
const BLACK_FLAG: char = '\u{1F3F4}';
const CANCEL_TAG: char = '\u{E007F}';

fn pictographic(c: char) -> bool {
    let c = c as u32;
    PICTOGRAPHIC
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

fn skin_tone(c: &char) -> bool {
    ('\u{1F3FB}'..='\u{1F3FF}').contains(c)
}

fn regional(c: &char) -> bool {
    ('\u{1F1E6}'..='\u{1F1FF}').contains(c)
}

fn tag(c: &char) -> bool {
    ('\u{E0020}'..='\u{E007E}').contains(c)
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// True when `s` is a run of one or more emoji sequences and nothing else.
pub(super) fn is_emoji(s: &str) -> bool {
    let mut it = s.chars().peekable();
    if it.peek().is_none() {
        return false;
    }
    while it.peek().is_some() {
        let Some(mut joinable) = element(&mut it) else {
            return false;
        };
        while it.next_if_eq(&ZWJ).is_some() {
            // ZWJ joins pictographs (families, the rainbow flag), never flags or keycaps.
            if !joinable
                || !it
                    .next_if(|c| pictographic(*c))
                    .is_some_and(|c| tail(&mut it, c))
            {
                return false;
            }
            joinable = true;
        }
    }
    true
}

/// One emoji element; `Some(true)` when a ZWJ may follow it.
fn element(it: &mut Chars<'_>) -> Option<bool> {
    let c = it.next()?;
    if regional(&c) {
        // A flag is exactly two regional indicators; a lone one is a letter-like symbol.
        return it.next_if(regional).map(|_| false);
    }
    if matches!(c, '0'..='9' | '#' | '*') {
        it.next_if_eq(&VS16);
        return it.next_if_eq(&KEYCAP).map(|_| false);
    }
    (pictographic(c) && tail(it, c)).then_some(true)
}

/// What may follow a pictograph: VS16, a skin tone, and for the black flag a tag run.
fn tail(it: &mut Chars<'_>, base: char) -> bool {
    it.next_if_eq(&VS16);
    if it.next_if(skin_tone).is_some() {
        it.next_if_eq(&VS16);
    }
    if base == BLACK_FLAG && it.next_if(tag).is_some() {
        while it.next_if(tag).is_some() {}
        return it.next_if_eq(&CANCEL_TAG).is_some();
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_emoji_pass() {
        let accepted = [
            "👍",
            "👍🏽",
            "❤️",
            "❤",
            "✅",
            "©️",
            "1️⃣",
            "1⃣",
            "#️⃣",
            "*️⃣",
            "🇯🇵",
            "🇺🇦🇯🇵",
            "👨‍👩‍👧‍👦",
            "🏳️‍🌈",
            "🏃🏽‍♀️",
            "🧑🏽‍🤝‍🧑🏻",
            "🏴‍☠️",
            "🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}",
            "🎉🎉",
            "🫠",
        ];
        for e in accepted {
            assert!(is_emoji(e), "{e:?} should be an emoji");
        }
    }

    #[test]
    fn text_and_invisible_characters_fail() {
        let refused = [
            "",
            "日本",
            "é",
            "a",
            "1",
            "#",
            "\u{200B}",
            "\u{202E}",
            "👍\u{202E}",
            "\u{FE0F}",
            "\u{200D}",
            "👍\u{200D}",
            "\u{200D}👍",
            "🇯",
            "🇯🇵\u{200D}👍",
            "1️⃣\u{200D}👍",
            "🏽",
            "👍 ",
            "👍a",
            "🏴\u{E0067}\u{E0062}",
            "\u{E0067}\u{E007F}",
            "\u{FE0E}",
            "👍\u{FE0E}",
        ];
        for e in refused {
            assert!(!is_emoji(e), "{e:?} should not be an emoji");
        }
    }

    #[test]
    fn the_table_is_sorted_and_disjoint() {
        assert!(PICTOGRAPHIC.windows(2).all(|w| w[0].1 < w[1].0));
        assert!(PICTOGRAPHIC.iter().all(|(lo, hi)| lo <= hi));
    }
}

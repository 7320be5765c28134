//! Redis's glob-style pattern matching (`stringmatchlen` in Redis's
//! `src/util.c`, case-sensitive), as `SCAN … MATCH` and `KEYS` apply it to
//! keys. Written to answer exactly what Redis answers, quirks included:
//!
//! - `*` matches any run of bytes (empty too), `?` one byte, `[abc]` one of
//!   the bytes, `[^abc]` one byte not among them, `[a-c]` a range (the ends
//!   may come in either order), `\x` the byte `x` (also inside brackets);
//!   every other byte matches itself, and keys are bytes, not characters;
//! - a `[` with no closing `]` matches as if the pattern ended there (so
//!   `a[b` matches `ab`, and `[^` any one byte); a `]` right after `[` (or
//!   `[^`) closes it, so `[]` is an empty class that matches nothing;
//!   `[a-]` is the range from `]` to `a`, since `-` takes the byte after it
//!   even when that is the `]`; a trailing `\` matches a `\`;
//! - the ends of a range compare as C's `char`, which is signed on x86-64:
//!   a byte of 0x80 or more is below every ASCII byte in a range (so
//!   `[a-\xff]` is the range from 0xff, i.e. −1, to `a`);
//! - the empty pattern matches only the empty string, and `*` does not
//!   match the empty string (Redis's loop ends before looking at the `*`;
//!   no maph key is empty, and `SCAN` and `KEYS` skip matching for a
//!   pattern of just `*`, as Redis does);
//! - a pattern that nests `*` more than 1000 deep matches nothing, and once
//!   the rest of the pattern after a `*` matched nowhere in the rest of the
//!   key, earlier `*`s are not retried (Redis's `skipLongerMatches`), so a
//!   pattern like `a*a*a*…*b` costs time polynomial, not exponential, in
//!   its length.
//!
//! `tests/test_scan.py` checks the matcher against a real `redis-server`
//! on random patterns and keys when one is installed.

/// Whether `key` matches the glob `pattern` (see the module docs).
pub fn matches(pattern: &[u8], key: &[u8]) -> bool {
    let mut skip_longer = false;
    match_at(pattern, key, &mut skip_longer, 0)
}

/// `pattern[1..]`, or the empty slice at the end (where C reads the
/// terminating NUL and stops).
fn rest(p: &[u8]) -> &[u8] {
    p.get(1..).unwrap_or_default()
}

fn match_at(mut p: &[u8], mut s: &[u8], skip_longer: &mut bool, nesting: u32) -> bool {
    if nesting > 1000 {
        return false;
    }
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() >= 2 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                while !s.is_empty() {
                    if match_at(&p[1..], s, skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    s = &s[1..];
                }
                *skip_longer = true;
                return false;
            }
            b'?' => s = &s[1..],
            b'[' => {
                p = &p[1..];
                let not = p.first() == Some(&b'^');
                if not {
                    p = &p[1..];
                }
                let mut hit = false;
                loop {
                    if p.first() == Some(&b'\\') && p.len() >= 2 {
                        p = &p[1..];
                        hit |= p[0] == s[0];
                    } else if p.first() == Some(&b']') {
                        break;
                    } else if p.is_empty() {
                        // Unterminated: the pattern ends here (the step
                        // after the match keeps it empty).
                        break;
                    } else if p.len() >= 3 && p[1] == b'-' {
                        // C's `char`: signed on x86-64.
                        let (a, b, c) = (p[0] as i8, p[2] as i8, s[0] as i8);
                        let (lo, hi) = if a > b { (b, a) } else { (a, b) };
                        p = &p[2..];
                        hit |= lo <= c && c <= hi;
                    } else {
                        hit |= p[0] == s[0];
                    }
                    p = &p[1..];
                }
                if hit == not {
                    return false;
                }
                s = &s[1..];
            }
            c => {
                let c = if c == b'\\' && p.len() >= 2 {
                    p = &p[1..];
                    p[0]
                } else {
                    c
                };
                if c != s[0] {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = rest(p);
        if s.is_empty() {
            while p.first() == Some(&b'*') {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(p: &str, s: &str) -> bool {
        matches(p.as_bytes(), s.as_bytes())
    }

    /// Every answer here was checked against redis-server 7.0.15
    /// (`SET key 1` then `KEYS pattern`, on x86-64).
    #[test]
    fn answers_as_redis_does() {
        let cases: &[(&str, &str, bool)] = &[
            // Stars.
            ("a*b", "ab", true),
            ("a*b", "axxb", true),
            ("a*b", "axxbc", false),
            ("a*", "a", true),
            ("a**", "a", true),
            ("**", "abc", true),
            ("*b", "ab", true),
            ("*", "x", true),
            ("*a*", "bab", true),
            ("h*llo", "heeeello", true),
            ("*.txt", "a.txt.bak", false),
            // Question marks.
            ("h?llo", "hello", true),
            ("h?llo", "hllo", false),
            ("key:1??", "key:123", true),
            ("key:1??", "key:12", false),
            ("?", "", false),
            // Classes, negation, ranges.
            ("h[ae]llo", "hallo", true),
            ("h[ae]llo", "hillo", false),
            ("h[^e]llo", "hallo", true),
            ("h[^e]llo", "hello", false),
            ("h[a-b]llo", "hbllo", true),
            ("h[a-b]llo", "hcllo", false),
            ("[a-c]", "b", true),
            ("[c-a]", "b", true),
            ("[a-c]", "d", false),
            ("[^a]", "a", false),
            ("[^a]", "b", true),
            ("[]", "]", false),
            ("[]]", "]", false), // "[]" is an empty class: nothing matches it
            ("[a-]", "^", true),
            ("[a-]", "-", false),
            ("[\\]]", "]", true),
            ("[\\-]", "-", true),
            ("a[b", "ab", true),
            ("a[b", "abc", false),
            ("a[", "ab", false),
            ("[^", "x", true), // unterminated: nothing negated, any byte
            ("[abc", "c", true),
            // Escapes.
            ("\\*", "*", true),
            ("\\*", "a", false),
            ("a\\?b", "a?b", true),
            ("a\\?b", "axb", false),
            ("\\", "\\", true),
            ("a\\", "a\\", true),
            ("\\\\", "\\", true),
            // Empty pattern and empty string.
            ("", "", true),
            ("", "a", false),
            ("*", "", false),
            ("a*", "", false),
        ];
        for &(p, s, want) in cases {
            assert_eq!(m(p, s), want, "pattern {p:?} against {s:?}");
        }
    }

    #[test]
    fn range_ends_compare_as_signed_chars() {
        assert!(!matches(b"[a-\xff]", b"b"));
        assert!(matches(b"[a-\xff]", b"A"));
        assert!(!matches(b"[a-\xff]", b"\x80")); // -128 < -1
        assert!(matches(b"[a-\xff]", b"\xff"));
        assert!(matches(b"[\x80-\xff]", b"\x90"));
        assert!(!matches(b"[\x80-\xff]", b"a"));
        assert!(matches(b"?", b"\xff") && matches(b"\xff*", b"\xff\x00"));
    }

    #[test]
    fn abusive_patterns_end_quickly() {
        // keyspace.tcl, "Regression for pattern matching long nested loops".
        let t = std::time::Instant::now();
        assert!(!m("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", &"a".repeat(40)));
        // "... very long nested loops": the nesting guard gives up.
        assert!(!m(&"*?".repeat(50_000), &"a".repeat(50_000)));
        assert!(t.elapsed().as_secs() < 5);
    }

    proptest! {
        #[test]
        fn arbitrary_patterns_never_panic_and_star_matches_all(
            p in proptest::collection::vec(
                prop::sample::select(b"ab*?[]^-\\\xff".to_vec()), 0..12),
            s in proptest::collection::vec(any::<u8>(), 1..12),
        ) {
            let _ = matches(&p, &s);
            prop_assert!(matches(b"*", &s));
            prop_assert!(matches(&s.iter().flat_map(|&c| [b'\\', c]).collect::<Vec<_>>(), &s));
        }
    }
}

//! The usual simulation body read straight into the domain request: one pass over the bytes, ids
//! and sellers copied once, nothing else allocated. serde's derived reader (field-name matching
//! through visitors, a `Cow` per string, a `Vec` of wrappers) was a tenth of a 50-item simulation.
//!
//! Strict JSON (RFC 8259, as serde_json reads it), and strict about the shape: `None` whenever
//! anything is not the usual body or not certainly valid (a number for an id, a fraction for a
//! quantity, a duplicate key, an escape in a key, nesting deeper than [`MAX_DEPTH`]…), so that
//! the tolerant path answers with its messages. Whenever this answers, the tolerant path answers
//! the same (`the_fast_path_agrees_*` in the parent module's tests).

use super::BodyScope;
use domain::simulation::{RequestedItem, SimulationRequest};
use std::borrow::Cow;

/// Deeper than this and the tolerant path decides (serde_json's own limit is 128).
const MAX_DEPTH: usize = 64;

pub(super) fn parse(body: &[u8], max_items: usize) -> Option<(SimulationRequest, BodyScope)> {
    let mut r = Reader { b: body, at: 0 };
    let mut items = None;
    let (mut postal_code, mut country, mut geo, mut sc, mut an) = (None, None, None, None, None);
    r.ws();
    r.object(|r, key| {
        match key {
            "items" if items.is_none() => items = Some(r.items(max_items)?),
            "postalCode" if postal_code.is_none() => postal_code = Some(r.opt_string()?),
            "country" if country.is_none() => country = Some(r.opt_string()?),
            "geoCoordinates" if geo.is_none() => geo = Some(r.opt_floats()?),
            "sc" if sc.is_none() => sc = Some(r.opt_string()?),
            "an" if an.is_none() => an = Some(r.opt_string()?),
            "items" | "postalCode" | "country" | "geoCoordinates" | "sc" | "an" => return None,
            _ => r.skip(0)?,
        }
        Some(())
    })?;
    r.ws();
    if r.at != r.b.len() {
        return None;
    }
    let owned = |v: Option<Option<Cow<'_, str>>>| v.flatten().map(Cow::into_owned);
    let non_blank = |v: Option<Option<Cow<'_, str>>>| {
        v.flatten()
            .filter(|s| !s.trim().is_empty())
            .map(Cow::into_owned)
    };
    let request = SimulationRequest {
        items: items?,
        country: owned(country),
        postal_code: owned(postal_code),
        geo_coordinates: geo.flatten().unwrap_or_default(),
    };
    let scope = BodyScope {
        sc: non_blank(sc),
        an: non_blank(an),
    };
    Some((request, scope))
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.at).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek() == Some(c)).then(|| self.at += 1)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at.checked_add(word.len())?;
        (self.b.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// `{…}` at the cursor, calling `field` with the cursor on each value; keys with escapes are
    /// left to the tolerant path.
    fn object(&mut self, mut field: impl FnMut(&mut Self, &str) -> Option<()>) -> Option<()> {
        self.sequence(b'{', b'}', |r| {
            let Cow::Borrowed(key) = r.string()? else {
                return None;
            };
            r.ws();
            r.eat(b':')?;
            r.ws();
            field(r, key)
        })
    }

    /// `[…]` at the cursor, calling `element` with the cursor on each element.
    fn array(&mut self, element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.sequence(b'[', b']', element)
    }

    /// `open`, `item`s separated by commas, `close` (an object's members or an array's
    /// elements).
    fn sequence(
        &mut self,
        open: u8,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.eat(open)?;
        self.ws();
        if self.eat(close).is_some() {
            return Some(());
        }
        loop {
            item(self)?;
            self.ws();
            match self.peek()? {
                b',' => {
                    self.at += 1;
                    self.ws();
                }
                c if c == close => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn items(&mut self, max_items: usize) -> Option<Vec<RequestedItem>> {
        let mut items = Vec::new();
        self.array(|r| {
            if items.len() == max_items {
                return None;
            }
            items.push(r.item()?);
            Some(())
        })?;
        Some(items)
    }

    fn item(&mut self) -> Option<RequestedItem> {
        let (mut id, mut quantity, mut seller, mut seller_capitalized) = (None, None, None, None);
        self.object(|r, key| {
            match key {
                "id" if id.is_none() => id = Some(r.opt_string()?),
                "quantity" if quantity.is_none() => quantity = Some(r.opt_int()?),
                "seller" if seller.is_none() => seller = Some(r.opt_string()?),
                "Seller" if seller_capitalized.is_none() => {
                    seller_capitalized = Some(r.opt_string()?)
                }
                "id" | "quantity" | "seller" | "Seller" => return None,
                _ => r.skip(0)?,
            }
            Some(())
        })?;
        let id = id.flatten().filter(|s| !s.trim().is_empty())?;
        let quantity = quantity.flatten().filter(|q| *q >= 0)?;
        let seller = seller.flatten().or(seller_capitalized.flatten())?;
        Some(RequestedItem {
            id: id.into_owned(),
            quantity,
            seller: seller.into_owned(),
        })
    }

    fn null(&mut self) -> bool {
        self.peek() == Some(b'n') && self.literal(b"null").is_some()
    }

    fn opt_string(&mut self) -> Option<Option<Cow<'a, str>>> {
        if self.null() {
            return Some(None);
        }
        self.string().map(Some)
    }

    /// A whole number that fits an `i64` (serde_json refuses a fraction or an exponent there).
    fn opt_int(&mut self) -> Option<Option<i64>> {
        if self.null() {
            return Some(None);
        }
        let (text, whole) = self.number()?;
        if !whole {
            return None;
        }
        text.parse::<i64>().ok().map(Some)
    }

    fn opt_floats(&mut self) -> Option<Option<Vec<f64>>> {
        if self.null() {
            return Some(None);
        }
        let mut out = Vec::new();
        self.array(|r| {
            out.push(
                r.number()?
                    .0
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())?,
            );
            Some(())
        })?;
        Some(Some(out))
    }

    /// A JSON number's text, and whether it is whole (no fraction, no exponent).
    fn number(&mut self) -> Option<(&'a str, bool)> {
        let start = self.at;
        let digits = |r: &mut Self| {
            let from = r.at;
            while r.peek().is_some_and(|c| c.is_ascii_digit()) {
                r.at += 1;
            }
            r.at > from
        };
        let _ = self.eat(b'-');
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => {
                digits(self);
            }
            _ => return None,
        }
        let mut whole = true;
        if self.eat(b'.').is_some() {
            whole = false;
            digits(self).then_some(())?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            whole = false;
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            digits(self).then_some(())?;
        }
        // ASCII by construction.
        let text = std::str::from_utf8(&self.b[start..self.at]).ok()?;
        Some((text, whole))
    }

    /// A string at the cursor: borrowed when it holds no escape.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.eat(b'"')?;
        let start = self.at;
        // One scan to the first quote, escape or control byte (a slice search, not a byte at a
        // time through `peek`).
        let stop = self.b[start..]
            .iter()
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
        self.at = start + stop;
        match self.b[self.at] {
            b'"' => {
                let text = std::str::from_utf8(&self.b[start..self.at]).ok()?;
                self.at += 1;
                return Some(Cow::Borrowed(text));
            }
            b'\\' => {}
            _ => return None,
        }
        let mut out = std::str::from_utf8(&self.b[start..self.at])
            .ok()?
            .to_string();
        loop {
            match self.peek()? {
                b'"' => {
                    self.at += 1;
                    return Some(Cow::Owned(out));
                }
                b'\\' => {
                    self.at += 1;
                    let c = match self.peek()? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            self.at += 1;
                            let first = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&first) {
                                // A high surrogate must be followed by its low half.
                                self.literal(b"\\u")?;
                                let second = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&second) {
                                    return None;
                                }
                                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                            } else {
                                first
                            };
                            out.push(char::from_u32(code)?);
                            continue;
                        }
                        _ => return None,
                    };
                    out.push(c);
                    self.at += 1;
                }
                0x00..=0x1f => return None,
                _ => {
                    let from = self.at;
                    while self
                        .peek()
                        .is_some_and(|c| c != b'"' && c != b'\\' && c >= 0x20)
                    {
                        self.at += 1;
                    }
                    out.push_str(std::str::from_utf8(&self.b[from..self.at]).ok()?);
                }
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let end = self.at.checked_add(4)?;
        let text = std::str::from_utf8(self.b.get(self.at..end)?).ok()?;
        if !text.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        self.at = end;
        u32::from_str_radix(text, 16).ok()
    }

    /// Any JSON value at the cursor, checked and passed over.
    fn skip(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => self.object(|r, _| r.skip(depth + 1)),
            b'[' => self.array(|r| r.skip(depth + 1)),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            // serde_json refuses a number out of `f64`'s range even where it ignores the value.
            _ => self
                .number()
                .and_then(|(text, _)| text.parse::<f64>().ok())
                .filter(|f| f.is_finite())
                .map(drop),
        }
    }
}

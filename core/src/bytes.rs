//! Reading binary formats (envelopes, collective changes): fields taken off
//! the front of a byte slice, big-endian, each short read one typed error;
//! and the text form of those shown as QR codes.

pub(crate) struct Reader<'a, E> {
    rest: &'a [u8],
    short: E,
}

impl<'a, E: Copy> Reader<'a, E> {
    /// Reads `bytes`; a field running past their end is `short`.
    pub fn new(bytes: &'a [u8], short: E) -> Self {
        Reader { rest: bytes, short }
    }

    /// What is left unread.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], E> {
        if self.rest.len() < n {
            return Err(self.short);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], E> {
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }

    pub fn u8(&mut self) -> Result<u8, E> {
        Ok(self.array::<1>()?[0])
    }

    pub fn u16(&mut self) -> Result<u16, E> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> Result<u32, E> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> Result<u64, E> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub fn i64(&mut self) -> Result<i64, E> {
        Ok(i64::from_be_bytes(self.array()?))
    }
}

/// The text form of a binary format meant for QR codes (cards, passes):
/// `prefix` then Base32 without padding, all in QR's alphanumeric set.
pub(crate) fn to_text(prefix: &str, bytes: &[u8]) -> String {
    let mut text = String::from(prefix);
    data_encoding::BASE32_NOPAD.encode_append(bytes, &mut text);
    text
}

/// The bytes of [`to_text`]'s form, forgiving case and whitespace; `None`
/// for another prefix, bad Base32, or more than `max` bytes.
pub(crate) fn from_text(prefix: &str, text: &str, max: usize) -> Option<Vec<u8>> {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if compact.len() > max * 2 {
        return None;
    }
    let payload = compact.strip_prefix(prefix)?;
    data_encoding::BASE32_NOPAD.decode(payload.as_bytes()).ok()
}

/// The example bodies of a spec: each block fenced as ```` ```json KIND ````
/// where KIND begins `prefix`, as (kind, body).
#[cfg(test)]
pub(crate) fn spec_examples(spec: &str, prefix: &str) -> Vec<(String, String)> {
    spec.split(&format!("```json {prefix}"))
        .skip(1)
        .map(|block| {
            let (kind, rest) = block.split_once('\n').unwrap();
            let body = rest.split("```").next().unwrap();
            (format!("{prefix}{}", kind.trim()), body.to_owned())
        })
        .collect()
}

/// The checked-in test vectors `stored` of `docs/vectors/<file>`, parsed;
/// with `TEND_WRITE_VECTORS` set, `now` is written there instead and
/// nothing is given.
#[cfg(test)]
pub(crate) fn checked_in_vectors(
    file: &str,
    stored: &str,
    now: &serde_json::Value,
) -> Option<serde_json::Value> {
    if std::env::var_os("TEND_WRITE_VECTORS").is_some() {
        let path = format!("{}/../docs/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
        std::fs::write(path, serde_json::to_string_pretty(now).unwrap() + "\n").unwrap();
        return None;
    }
    Some(serde_json::from_str(stored).unwrap())
}

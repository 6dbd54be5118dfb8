//! Reads a subgraph's answer body with a size limit: refused at once when its
//! `Content-Length` says it is too large, else read chunk by chunk and refused as soon as the
//! bytes so far pass the limit, so that a subgraph streaming gigabytes costs the gateway at
//! most the limit (and the chunk in hand), never the whole answer.
//!
//! The bytes counted are the ones the body yields: with compressed answers
//! (`compression.subgraph_responses`), the decompressed bytes, which is what the gateway holds
//! in memory; the decompressed answer has no `Content-Length`, so only the streamed count
//! applies.

use bytes::{Bytes, BytesMut};
use http_body::Body;
use http_body_util::BodyExt;

use super::client::TransportError;

/// The answer is larger than the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge;

#[derive(Debug)]
pub enum BodyError {
    TooLarge,
    Transport(TransportError),
}

/// Reads a `body` announced as `content_length` bytes (if at all), refusing more than `limit`.
pub async fn read_limited<B>(
    body: B,
    content_length: Option<u64>,
    limit: u64,
) -> Result<Bytes, BodyError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut collected =
        LimitedBody::new(limit, content_length).map_err(|TooLarge| BodyError::TooLarge)?;
    let mut body = std::pin::pin!(body);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| {
            let error: Box<dyn std::error::Error + Send + Sync> = error.into();
            BodyError::Transport(TransportError::body(&*error))
        })?;
        // Trailers, if a subgraph sends any, are not part of the answer.
        if let Ok(chunk) = frame.into_data() {
            collected
                .push(chunk)
                .map_err(|TooLarge| BodyError::TooLarge)?;
        }
    }
    Ok(collected.finish())
}

/// The chunks of a body so far, refusing to grow past a limit.
#[derive(Debug)]
pub struct LimitedBody {
    limit: u64,
    /// What the headers announce (already checked against the limit): the buffer's size.
    expected: Option<u64>,
    len: u64,
    /// A body that comes in one chunk (most small answers) is kept as it came, uncopied.
    first: Option<Bytes>,
    rest: BytesMut,
}

impl LimitedBody {
    pub fn new(limit: u64, content_length: Option<u64>) -> Result<Self, TooLarge> {
        if content_length.is_some_and(|length| length > limit) {
            return Err(TooLarge);
        }
        Ok(Self {
            limit,
            expected: content_length,
            len: 0,
            first: None,
            rest: BytesMut::new(),
        })
    }

    /// Adds a chunk, unless the body would then pass the limit.
    pub fn push(&mut self, chunk: Bytes) -> Result<(), TooLarge> {
        let len = self.len + chunk.len() as u64;
        if len > self.limit {
            return Err(TooLarge);
        }
        self.len = len;
        if self.first.is_none() && self.rest.is_empty() {
            self.first = Some(chunk);
            return Ok(());
        }
        if let Some(first) = self.first.take() {
            // Within the limit: the announced length, else what has come so far (doubling
            // from there as usual).
            let capacity = self.expected.unwrap_or(len).max(len);
            self.rest.reserve(capacity as usize);
            self.rest.extend_from_slice(&first);
        }
        self.rest.extend_from_slice(&chunk);
        Ok(())
    }

    pub fn finish(self) -> Bytes {
        match self.first {
            Some(first) => first,
            None => self.rest.freeze(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_announced_length_above_the_limit_is_refused_before_any_byte() {
        assert_eq!(LimitedBody::new(10, Some(11)).unwrap_err(), TooLarge);
        assert!(LimitedBody::new(10, Some(10)).is_ok());
        assert!(LimitedBody::new(10, None).is_ok());
    }

    #[test]
    fn chunks_up_to_the_limit_are_kept_and_one_byte_more_is_refused() {
        let mut body = LimitedBody::new(10, None).unwrap();
        body.push(Bytes::from_static(b"0123")).unwrap();
        body.push(Bytes::from_static(b"")).unwrap();
        body.push(Bytes::from_static(b"456789")).unwrap();
        assert_eq!(body.push(Bytes::from_static(b"x")), Err(TooLarge));
        assert_eq!(&body.finish()[..], b"0123456789");
    }

    #[test]
    fn a_chunk_that_would_pass_the_limit_is_not_added() {
        let mut body = LimitedBody::new(5, None).unwrap();
        body.push(Bytes::from_static(b"012")).unwrap();
        assert_eq!(body.push(Bytes::from_static(b"345")), Err(TooLarge));
        // What it holds never passed the limit.
        assert_eq!(&body.finish()[..], b"012");
    }

    #[test]
    fn a_single_chunk_is_handed_over_without_a_copy() {
        let chunk = Bytes::from(vec![7u8; 64]);
        let pointer = chunk.as_ptr();
        let mut body = LimitedBody::new(64, Some(64)).unwrap();
        body.push(chunk).unwrap();
        assert_eq!(body.finish().as_ptr(), pointer);
    }
}

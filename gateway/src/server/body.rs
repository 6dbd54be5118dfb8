//! A response body made of the chunks it is already in.

/// A body sent as the chunks it is already in, with its exact length: the response's `data`
/// is not copied into a second buffer, hyper writes the chunks together.
pub(super) struct Chunks {
    chunks: std::collections::VecDeque<bytes::Bytes>,
    remaining: u64,
}

impl Chunks {
    pub(super) fn new(chunks: Vec<bytes::Bytes>) -> Self {
        let remaining = chunks.iter().map(|c| c.len() as u64).sum();
        Self {
            chunks: chunks.into_iter().filter(|c| !c.is_empty()).collect(),
            remaining,
        }
    }
}

impl http_body::Body for Chunks {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        let chunk = self.chunks.pop_front();
        if let Some(chunk) = &chunk {
            self.remaining -= chunk.len() as u64;
        }
        std::task::Poll::Ready(chunk.map(|c| Ok(http_body::Frame::data(c))))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;

    use http_body::Body;

    use super::*;

    #[test]
    fn sends_the_chunks_in_order_with_their_exact_length() {
        let mut body = Chunks::new(vec![
            bytes::Bytes::from_static(b"{\"data\":"),
            bytes::Bytes::new(),
            bytes::Bytes::from_static(b"null}"),
        ]);
        assert_eq!(body.size_hint().exact(), Some(13));
        let mut sent = Vec::new();
        while let Some(frame) = futures::executor::block_on(std::future::poll_fn(|cx| {
            Pin::new(&mut body).poll_frame(cx)
        })) {
            let data = frame
                .expect("infallible")
                .into_data()
                .expect("a data frame");
            assert!(!data.is_empty(), "empty chunks are not sent");
            sent.extend_from_slice(&data);
            assert_eq!(body.size_hint().exact(), Some(13 - sent.len() as u64));
        }
        assert!(body.is_end_stream());
        assert_eq!(sent, b"{\"data\":null}");
    }
}

//! A layer that applies only to the requests it concerns: each request goes through the inner
//! layer, around it, or is answered at once, as a function of the request decides. The edge
//! puts tower-http's CORS and (de)compression layers behind such gates, so that a request with
//! no `Origin`, no `Accept-Encoding` or no `Content-Encoding` does not pay for them (their
//! per-request work was a tenth of a small request's instructions; docs/benchmarks.md).

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::task::{Context, Poll, ready as ready_poll};

use axum::extract::Request;
use axum::response::Response;
use futures::future::Either;
use tower::{Layer, Service};

/// Where one request goes.
pub(super) enum Route {
    Through,
    /// Around the layer, its response passed to the function (e.g. to add a `Vary`).
    Around(Option<fn(&mut Response)>),
    Answer(Response),
}

#[derive(Clone)]
pub(super) struct GateLayer<L, D> {
    layer: L,
    decide: D,
}

impl<L, D> GateLayer<L, D> {
    /// `layer`, for the requests `decide` sends [`Route::Through`].
    pub(super) fn new(layer: L, decide: D) -> Self {
        Self { layer, decide }
    }
}

impl<S, L, D> Layer<S> for GateLayer<L, D>
where
    S: Clone,
    L: Layer<S>,
    D: Clone,
{
    type Service = Gate<L::Service, S, D>;

    fn layer(&self, inner: S) -> Self::Service {
        Gate {
            through: self.layer.layer(inner.clone()),
            around: inner,
            decide: self.decide.clone(),
        }
    }
}

#[derive(Clone)]
pub(super) struct Gate<T, S, D> {
    through: T,
    around: S,
    decide: D,
}

type GateFuture<T, S> = Either<T, Either<Hooked<S>, Ready<Result<Response, Infallible>>>>;

impl<T, S, D> Service<Request> for Gate<T, S, D>
where
    T: Service<Request, Response = Response, Error = Infallible>,
    S: Service<Request, Response = Response, Error = Infallible>,
    D: Fn(&Request) -> Route,
{
    type Response = Response;
    type Error = Infallible;
    type Future = GateFuture<T::Future, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Both wrap clones of one route service: they are ready together.
        ready_poll!(self.through.poll_ready(cx))?;
        self.around.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match (self.decide)(&request) {
            Route::Through => Either::Left(self.through.call(request)),
            Route::Around(hook) => Either::Right(Either::Left(Hooked {
                inner: self.around.call(request),
                hook,
            })),
            Route::Answer(response) => Either::Right(Either::Right(ready(Ok(response)))),
        }
    }
}

pin_project_lite::pin_project! {
    /// A response future whose response is passed to a function before it is returned.
    pub(super) struct Hooked<F> {
        #[pin]
        inner: F,
        hook: Option<fn(&mut Response)>,
    }
}

impl<F> Future for Hooked<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(mut response) = ready_poll!(this.inner.poll(cx));
        if let Some(hook) = this.hook {
            hook(&mut response);
        }
        Poll::Ready(Ok(response))
    }
}

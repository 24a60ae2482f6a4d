//! glucolink's HTTP layer: the route table, request parsing, sessions and CSRF, and the one mapping of
//! domain errors to HTTP answers.
//!
//! Architecture invariant: this crate speaks `http::Request<Bytes>` / `http::Response<Bytes>` only. It
//! knows neither hyper (the local server) nor lambda_http (the Lambdas) nor which store is behind
//! `Ctx`, so both runtimes serve exactly the same handlers.

pub mod app;
pub mod error;
mod handlers;
pub mod routes;
pub mod security;
pub mod wire;

pub use app::{App, Config, PrincipalKind};
pub use error::ApiError;
pub use routes::{Access, ROUTES, Route, RouteId};

//! `spawn_app()`: the real local server on a random port with a fresh store and a clock the test moves,
//! and `Browser`: an HTTP client with its own cookie jar that speaks the CSRF protocol like the site does.

use std::sync::Arc;

use glucolink_api::{App, Config};
use glucolink_core::Ctx;
use glucolink_core::clock::{Clock, FixedClock};
use glucolink_core::store::{Item, Store};
use glucolink_local::server::{self, LocalServer};
use glucolink_local::site::Site;
use glucolink_store::EmbeddedStore;
use jiff::{SignedDuration, Timestamp};
use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Method, Response};
use serde_json::Value;

pub struct TestApp {
    pub base: String,
    pub clock: Arc<FixedClock>,
    /// Set when the app runs on the embedded store, so tests can compare its whole content.
    pub embedded: Option<EmbeddedStore>,
    /// The default browser; tests that need a second one call [`TestApp::browser`].
    pub user: Browser,
    /// Set when the app is the cloud rehearsal (`infra/rehearse`): the real Lambda binary on moto,
    /// on the system clock, each browser from its own loopback address (a viewer of its own).
    pub rehearsal: bool,
    /// The app's own ports (not in the rehearsal), for what an operator does beside the API.
    pub ctx: Option<Ctx>,
}

/// The cloud rehearsal that `infra/test` starts (`GLUCOLINK_TEST_REHEARSAL_URL`).
pub fn through_rehearsal() -> TestApp {
    let base = std::env::var("GLUCOLINK_TEST_REHEARSAL_URL").expect(
        "GLUCOLINK_TEST_REHEARSAL_URL is not set: run the tests with `infra/test`, which starts the cloud rehearsal",
    );
    let base = base.trim_end_matches('/').to_owned();
    TestApp {
        user: Browser::from_own_address(&base),
        base,
        clock: Arc::new(FixedClock::new(Timestamp::now())),
        embedded: None,
        rehearsal: true,
        ctx: None,
    }
}

/// The app on a fresh embedded store.
pub async fn spawn_app() -> TestApp {
    let clock = Arc::new(FixedClock::new(Timestamp::now()));
    let path = super::stores::temp_dir("app").join("glucolink.redb");
    let embedded = EmbeddedStore::open(&path, clock.clone()).expect("open embedded store");
    spawn_with(Arc::new(embedded.clone()), clock, Some(embedded)).await
}

/// The app on a fresh embedded store, with the operator's rule on how clinics join.
pub async fn spawn_app_where_clinics_join(
    join: glucolink_core::account::verify::JoinPolicy,
) -> TestApp {
    let clock = Arc::new(FixedClock::new(Timestamp::now()));
    let path = super::stores::temp_dir("app").join("glucolink.redb");
    let embedded = EmbeddedStore::open(&path, clock.clone()).expect("open embedded store");
    spawn_configured(
        Arc::new(embedded.clone()),
        clock,
        Some(embedded),
        None,
        join,
    )
    .await
}

/// The app on a fresh DynamoDB table in moto.
pub async fn spawn_app_on_dynamodb() -> TestApp {
    let clock = Arc::new(FixedClock::new(Timestamp::now()));
    let store = super::stores::dynamodb(clock.clone()).await;
    spawn_with(store, clock, None).await
}

/// The app on a fresh DynamoDB table in moto, and the table's name (to scan it).
pub async fn spawn_app_on_dynamodb_table() -> (TestApp, String) {
    let clock = Arc::new(FixedClock::new(Timestamp::now()));
    let (store, table) = super::stores::dynamodb_named(clock.clone()).await;
    (spawn_with(store, clock, None).await, table)
}

/// The app on a fresh DynamoDB table in moto, every store request counted.
pub async fn spawn_app_on_counted_dynamodb() -> (TestApp, Arc<glucolink_tests::CountingStore>) {
    let clock = Arc::new(FixedClock::new(Timestamp::now()));
    let counting = Arc::new(glucolink_tests::CountingStore::new(
        super::stores::dynamodb(clock.clone()).await,
    ));
    (spawn_with(counting.clone(), clock, None).await, counting)
}

/// The cloud configuration against moto: DynamoDB, and email and SMS through SES v2 and SNS.
pub async fn spawn_app_on_cloud_services() -> TestApp {
    let clock = Arc::new(FixedClock::new(Timestamp::now()));
    let store = super::stores::dynamodb(clock.clone()).await;
    let notifier = Arc::new(super::messages::cloud_notifier().await);
    spawn_with_notifier(store, clock, None, Some(notifier)).await
}

async fn spawn_with(
    store: Arc<dyn Store>,
    clock: Arc<FixedClock>,
    embedded: Option<EmbeddedStore>,
) -> TestApp {
    spawn_with_notifier(store, clock, embedded, None).await
}

async fn spawn_with_notifier(
    store: Arc<dyn Store>,
    clock: Arc<FixedClock>,
    embedded: Option<EmbeddedStore>,
    notifier: Option<Arc<dyn glucolink_core::notify::Notifier>>,
) -> TestApp {
    spawn_configured(store, clock, embedded, notifier, Default::default()).await
}

async fn spawn_configured(
    store: Arc<dyn Store>,
    clock: Arc<FixedClock>,
    embedded: Option<EmbeddedStore>,
    notifier: Option<Arc<dyn glucolink_core::notify::Notifier>>,
    clinic_join: glucolink_core::account::verify::JoinPolicy,
) -> TestApp {
    let clock_port: Arc<dyn Clock> = clock.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free port");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let notifier = notifier.unwrap_or_else(|| {
        Arc::new(glucolink_notify::OutboxNotifier::new(
            store.clone(),
            clock_port.clone(),
        ))
    });
    let ctx = Ctx::new(store, clock_port, notifier);
    let app = App::new(
        ctx.clone(),
        Config {
            clinic_join,
            ..Config::local(base.clone())
        },
    );
    let local = Arc::new(LocalServer {
        app,
        site: Site::new(Site::source_tree_dir(), glucolink_site::Operator::default()),
        // Short, so the tests of stalled clients wait a moment, not the product's 10 s and 60 s.
        limits: glucolink_local::server::Limits {
            headers: std::time::Duration::from_secs(2),
            body: std::time::Duration::from_secs(3),
        },
    });
    tokio::spawn(server::run(listener, local));
    TestApp {
        user: Browser::new(&base),
        base,
        clock,
        embedded,
        rehearsal: false,
        ctx: Some(ctx),
    }
}

impl TestApp {
    /// A second, independent browser (own cookies).
    /// A browser that opens the site by name (`http://localhost:…`, as passkeys need) and sends the
    /// `Origin` header a browser sends with every API call it makes from a page.
    pub fn browser_by_name(&self) -> Browser {
        let base = self.base.replace("://127.0.0.1", "://localhost");
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::ORIGIN,
            base.parse().expect("origin header"),
        );
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .expect("client");
        Browser { base, jar, client }
    }

    pub fn browser(&self) -> Browser {
        if self.rehearsal {
            Browser::from_own_address(&self.base)
        } else {
            Browser::new(&self.base)
        }
    }

    pub fn clock_now(&self) -> Timestamp {
        if self.rehearsal {
            return Timestamp::now();
        }
        glucolink_core::clock::Clock::now(self.clock.as_ref())
    }

    pub fn advance(&self, by: SignedDuration) {
        assert!(!self.rehearsal, "the rehearsal runs on the system clock");
        self.clock.advance(by);
    }

    /// Every stored item (embedded store only).
    pub async fn stored(&self) -> Vec<Item> {
        self.embedded
            .as_ref()
            .expect("stored() needs the embedded store")
            .dump()
            .await
            .expect("dump store")
    }

    /// Every stored item but sessions (`SESSION#…`, `SESSIONS#…`), whose idle timers any request moves.
    pub async fn stored_but_sessions(&self) -> Vec<Item> {
        self.stored()
            .await
            .into_iter()
            .filter(|item| !item.key.pk.starts_with("SESSION"))
            .collect()
    }
}

impl TestApp {
    /// Every stored item but sessions, attempt counters and sign-in challenges: what a refused request
    /// must leave as it was (counting attempts is what limits are for).
    pub async fn stored_data(&self) -> Vec<Item> {
        self.stored_but_sessions()
            .await
            .into_iter()
            .filter(|item| {
                !item.key.pk.starts_with("THROTTLE#") && !item.key.pk.starts_with("CHALLENGE#")
            })
            .collect()
    }
}

pub struct Browser {
    pub base: String,
    pub jar: Arc<Jar>,
    pub client: reqwest::Client,
}

impl Browser {
    pub fn new(base: &str) -> Self {
        Self::with_source(base, None)
    }

    /// A browser that connects from a loopback address of its own (127.x.y.z), so that a server
    /// behind the rehearsal's CloudFront sees each browser as a different viewer.
    pub fn from_own_address(base: &str) -> Self {
        let mut random = [0u8; 3];
        getrandom::fill(&mut random).expect("random");
        let address = std::net::Ipv4Addr::new(127, random[0] | 1, random[1], random[2].max(2));
        Self::with_source(base, Some(address.into()))
    }

    fn with_source(base: &str, source: Option<std::net::IpAddr>) -> Self {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .local_address(source)
            .build()
            .expect("client");
        Self {
            base: base.to_owned(),
            jar,
            client,
        }
    }

    /// The value of a cookie the browser holds for the site (`name`, or `__Host-name` in the cloud).
    pub fn cookie(&self, name: &str) -> Option<String> {
        let url = self.base.parse().expect("url");
        let header = self.jar.cookies(&url)?;
        let cloud_name = format!("__Host-{name}");
        header
            .to_str()
            .ok()?
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(key, _)| *key == name || *key == cloud_name)
            .map(|(_, value)| value.to_owned())
    }

    /// Puts a cookie into the jar, as a forger or a replaying attacker would.
    pub fn set_cookie(&self, name: &str, value: &str) {
        let url = self.base.parse().expect("url");
        self.jar
            .add_cookie_str(&format!("{name}={value}; Path=/"), &url);
    }

    /// The CSRF token, fetching one first the way the site does.
    pub async fn csrf(&self) -> String {
        if self.cookie("csrf").is_none() {
            self.get("/api/me").await;
        }
        self.cookie("csrf")
            .expect("the API hands out a csrf cookie")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET")
    }

    /// A state-changing request with the CSRF header and a JSON body, as the site sends it.
    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Response {
        let token = self.csrf().await;
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("X-CSRF-Token", token);
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("request")
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.send(Method::POST, path, Some(body)).await
    }

    /// A raw POST sent with a `Content-Encoding` (an upload compressed as the site sends it).
    pub async fn post_encoded(
        &self,
        path: &str,
        content_type: &str,
        encoding: &str,
        body: Vec<u8>,
    ) -> Response {
        let token = self.csrf().await;
        self.client
            .post(format!("{}{path}", self.base))
            .header("X-CSRF-Token", token)
            .header("Content-Type", content_type)
            .header("Content-Encoding", encoding)
            .body(body)
            .send()
            .await
            .expect("POST")
    }

    /// A raw POST with a chosen content type and body, and the right CSRF header.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Response {
        let token = self.csrf().await;
        self.client
            .post(format!("{}{path}", self.base))
            .header("X-CSRF-Token", token)
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .expect("POST")
    }
}

/// Reads an answer's status and JSON body (Null for an empty body).
pub async fn status_and_json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, json)
}

/// Asserts a JSON error answer with this status and code; returns its message.
pub async fn assert_error(response: Response, status: u16, code: &str) -> String {
    let (got, body) = status_and_json(response).await;
    assert_eq!(got, status, "status for {code}: {body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or("").to_owned();
    assert!(!message.is_empty(), "error without a message: {body}");
    message
}

/// Bytes gzip-compressed, as the site and `glucolink upload` send files.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("compress");
    encoder.finish().expect("compress")
}

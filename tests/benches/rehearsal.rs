//! The product through the cloud rehearsal: start `infra/rehearse --port 8090`, then
//! `GLUCOLINK_BENCH_REHEARSAL_URL=http://127.0.0.1:8090 cargo bench -p glucolink-tests --bench rehearsal`.
//!
//! Every request crosses what the cloud has: the CloudFront emulation, an API Gateway payload 2.0 event,
//! the Lambda Runtime API, the real Lambda binary (debug build, as `infra/rehearse` builds it) and
//! DynamoDB in moto through the IAM-checking proxy. Times clinic sign-in, the patient list and a 90-day
//! report (JSON, HTML and PDF) for a linked patient with 90 days of pump and CGM data, p50/p95, warm
//! (each function's first call, its cold start, is timed apart). moto answers one request at a time, so
//! these are upper bounds for the store part; the numbers say where the time goes, not what AWS costs.

use std::time::{Duration, Instant};

use reqwest::cookie::CookieStore;
use serde_json::{Value, json};

mod support;
use support::percentile;

const CLINIC_PASSWORD: &str = "harbour maple quartz 31";
const PERSON_PASSWORD: &str = "pebble lantern orchid 58";

struct Browser {
    base: String,
    client: reqwest::Client,
    jar: std::sync::Arc<reqwest::cookie::Jar>,
}

impl Browser {
    fn new(base: &str) -> Self {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let mut random = [0u8; 3];
        getrandom::fill(&mut random).expect("random");
        let source = std::net::Ipv4Addr::new(127, random[0] | 1, random[1], random[2].max(2));
        Self {
            base: base.to_owned(),
            client: reqwest::Client::builder()
                .cookie_provider(jar.clone())
                .local_address(std::net::IpAddr::from(source))
                .build()
                .expect("client"),
            jar,
        }
    }

    fn csrf(&self) -> String {
        let url = self.base.parse().expect("url");
        let header = self.jar.cookies(&url).expect("cookies");
        header
            .to_str()
            .expect("ascii")
            .split("; ")
            .find_map(|c| c.strip_prefix("__Host-csrf="))
            .expect("a CSRF cookie")
            .to_owned()
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET")
    }

    async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        if self.jar.cookies(&self.base.parse().expect("url")).is_none() {
            self.get("/api/me").await;
        }
        self.client
            .post(format!("{}{path}", self.base))
            .header("X-CSRF-Token", self.csrf())
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    async fn post_ok(&self, path: &str, body: &Value) -> Value {
        let response = self.post(path, body).await;
        let status = response.status();
        let text = response.text().await.expect("body");
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

async fn timed<F, Fut>(rounds: usize, mut call: F) -> (Duration, Vec<Duration>)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let first = Instant::now();
    call().await;
    let first = first.elapsed();
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        call().await;
        samples.push(start.elapsed());
    }
    samples.sort();
    (first, samples)
}

fn print(name: &str, first: Duration, samples: &[Duration], bytes: usize) {
    println!(
        "{name:<34} first {:>7.1} ms   p50 {:>7.1} ms   p95 {:>7.1} ms   ({} rounds, {bytes} bytes)",
        first.as_secs_f64() * 1000.0,
        percentile(samples, 0.50),
        percentile(samples, 0.95),
        samples.len()
    );
}

#[tokio::main]
async fn main() {
    let Ok(base) = std::env::var("GLUCOLINK_BENCH_REHEARSAL_URL") else {
        eprintln!(
            "Start the rehearsal first (infra/rehearse --port 8090), then run with GLUCOLINK_BENCH_REHEARSAL_URL=http://127.0.0.1:8090"
        );
        std::process::exit(2);
    };
    let base = base.trim_end_matches('/').to_owned();
    let tag = ulid::Ulid::new().to_string().to_lowercase()[16..].to_owned();
    let email = format!("bench{tag}@clinic.example");
    let clinic = Browser::new(&base);
    clinic
        .post_ok(
            "/api/clinic/signup",
            &json!({"clinic_name": "Bench Clinic", "name": "Bea Bench", "email": email, "password": CLINIC_PASSWORD}),
        )
        .await;
    let patient = Browser::new(&base);
    let username = format!("bench{tag}");
    patient
        .post_ok(
            "/api/personal/signup",
            &json!({"username": username, "password": PERSON_PASSWORD, "name": "Jordan Example",
                    "date_of_birth": "1990-06-15", "email": format!("{username}@example.net")}),
        )
        .await;
    let record = clinic
        .post_ok(
            "/api/clinic/patients",
            &json!({"name": "Jordan Example", "date_of_birth": "1990-06-15"}),
        )
        .await;
    let patient_id = record["patient_id"]
        .as_str()
        .expect("patient_id")
        .to_owned();
    let code = clinic
        .post_ok(
            &format!("/api/clinic/patients/{patient_id}/link/code"),
            &json!({}),
        )
        .await;
    patient
        .post_ok(
            "/api/personal/sharing/accept",
            &json!({"code": code["code"]}),
        )
        .await;
    let today = jiff::tz::TimeZone::UTC
        .to_datetime(jiff::Timestamp::now())
        .date();
    let events = glucolink_synth::generate(&glucolink_synth::Patient {
        seed: 9,
        profile: glucolink_synth::Profile::MedtronicPump,
        time_zone: "Europe/London",
        start: today.saturating_sub(jiff::Span::new().days(91)),
        days: 90,
    });
    let file = glucolink_synth::export::to_json(&events);
    let compressed = {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&file).expect("compress");
        encoder.finish().expect("compress")
    };
    let started = Instant::now();
    let response = patient
        .client
        .post(format!("{base}/api/personal/uploads"))
        .header("X-CSRF-Token", patient.csrf())
        .header("Content-Type", "application/json")
        .header("Content-Encoding", "gzip")
        .body(compressed.clone())
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status().as_u16(), 201, "upload");
    println!(
        "90-day upload: {} events, {} bytes as {} gzip, {:.0} ms",
        events.len(),
        file.len(),
        compressed.len(),
        started.elapsed().as_secs_f64() * 1000.0
    );

    let signin = json!({"email": email, "password": CLINIC_PASSWORD});
    let (first, samples) = timed(20, || async {
        let response = clinic.post("/api/clinic/signin", &signin).await;
        assert_eq!(response.status().as_u16(), 200);
        response.bytes().await.map(|b| b.len()).unwrap_or(0)
    })
    .await;
    print("clinic sign-in", first, &samples, 0);
    let (first, samples) = timed(50, || async {
        let response = clinic.get("/api/clinic/patients").await;
        assert_eq!(response.status().as_u16(), 200);
        response.bytes().await.map(|b| b.len()).unwrap_or(0)
    })
    .await;
    print("patient list", first, &samples, 0);
    for (name, format) in [
        ("90-day report, JSON", "json"),
        ("90-day report, HTML", "html"),
        ("90-day report, PDF", "pdf"),
    ] {
        let path = format!("/api/clinic/patients/{patient_id}/report?days=90&format={format}");
        let (first, samples) = timed(20, || async {
            let response = clinic.get(&path).await;
            assert_eq!(response.status().as_u16(), 200, "{path}");
            response.bytes().await.map(|b| b.len()).unwrap_or(0)
        })
        .await;
        let size = clinic
            .get(&path)
            .await
            .bytes()
            .await
            .map(|b| b.len())
            .unwrap_or(0);
        print(name, first, &samples, size);
    }
    let (first, samples) = timed(50, || async {
        let response = clinic.get("/clinic/").await;
        assert_eq!(response.status().as_u16(), 200);
        response.bytes().await.map(|b| b.len()).unwrap_or(0)
    })
    .await;
    print("page /clinic/ (S3 + function)", first, &samples, 0);
}

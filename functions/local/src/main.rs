//! The `glucolink` command. `glucolink serve` (the default) runs the whole product locally.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use glucolink_core::account::verify::{self, JoinPolicy};
use glucolink_local::server::{self, LocalServer};
use glucolink_local::site::Site;
use glucolink_local::uploader::{UploadRequest, upload_file};
use glucolink_local::{demo, local_app};

#[derive(Parser)]
#[command(
    name = "glucolink",
    version,
    about = "glucolink: clinics see their patients' diabetes device data, with consent."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the site and the API on 127.0.0.1 with the embedded store and demo data.
    Serve(ServeArgs),
    /// Upload a device data file (glucolink JSON, CareLink, Clarity or LibreView CSV, Nightscout JSON)
    /// with a personal upload token, to the local server or a deployed glucolink.
    Upload(UploadArgs),
    /// As the operator, add a clinic and email its first admin an invitation (to the local outbox).
    /// Stop the local server first: the store is one file. In the cloud: docs/DEPLOY.md.
    ClinicInvite(ClinicInviteArgs),
}

#[derive(clap::Args)]
struct ClinicInviteArgs {
    /// The clinic's name, as patients will see it.
    #[arg(long)]
    name: String,
    /// The email of its first admin.
    #[arg(long)]
    email: String,
    /// Directory of the embedded store.
    #[arg(long, default_value = ".data")]
    data_dir: PathBuf,
    /// The site the invitation links to.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
}

#[derive(clap::Args)]
struct UploadArgs {
    /// The upload token (create one on your glucolink home page). Also read from GLUCOLINK_UPLOAD_TOKEN.
    #[arg(long, env = "GLUCOLINK_UPLOAD_TOKEN", hide_env_values = true)]
    token: String,
    /// The glucolink site.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Time zone of times without an offset in the file (IANA name, e.g. Europe/London).
    #[arg(long)]
    tz: Option<String>,
    /// The file's format, if detection should be skipped.
    #[arg(long)]
    format: Option<String>,
    /// The file to upload.
    file: PathBuf,
}

#[derive(clap::Args, Default)]
struct ServeArgs {
    /// TCP port on 127.0.0.1.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Directory for the embedded store (created if needed).
    #[arg(long, default_value = ".data")]
    data_dir: PathBuf,
    /// Directory of the static site (default: this source tree's `site/`).
    #[arg(long)]
    site_dir: Option<PathBuf>,
    /// Do not create demo data.
    #[arg(long)]
    no_demo: bool,
    /// Who provides the service, in every page's footer ("Provided by …").
    #[arg(long, env = "GLUCOLINK_OPERATOR_NAME", default_value = "")]
    operator_name: String,
    /// The support address in every page's footer (none: patients are pointed to their clinic).
    #[arg(long, env = "GLUCOLINK_SUPPORT_EMAIL", default_value = "")]
    support_email: String,
    /// The privacy notice linked from the footer: a path on the site or an https:// address.
    #[arg(long, env = "GLUCOLINK_PRIVACY_URL", default_value = "")]
    privacy_url: String,
    /// The terms of use linked from the footer: a path on the site or an https:// address.
    #[arg(long, env = "GLUCOLINK_TERMS_URL", default_value = "")]
    terms_url: String,
    /// How clinics join: open (any clinic, its admin verifies their email), domains (only admins with
    /// an email at --clinic-domains) or invite (only clinics added with `glucolink clinic-invite`).
    #[arg(long, env = "GLUCOLINK_CLINIC_JOIN", default_value = "open")]
    clinic_join: String,
    /// The email domains that may register a clinic in `domains` mode, comma-separated.
    #[arg(long, env = "GLUCOLINK_CLINIC_DOMAINS", default_value = "")]
    clinic_domains: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "glucolink=info,warn".into()),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Serve(args)) => serve(args).await,
        Some(Command::Upload(args)) => upload(args).await,
        Some(Command::ClinicInvite(args)) => clinic_invite(args).await,
        None => {
            serve(ServeArgs {
                port: 8080,
                data_dir: ".data".into(),
                clinic_join: "open".into(),
                ..ServeArgs::default()
            })
            .await
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let operator = glucolink_site::Operator::new(
        &args.operator_name,
        &args.support_email,
        &args.privacy_url,
        &args.terms_url,
    )
    .map_err(anyhow::Error::msg)
    .context("the footer settings")?;
    let clinic_join = JoinPolicy::parse(&args.clinic_join, &args.clinic_domains)
        .map_err(anyhow::Error::msg)
        .context("--clinic-join")?;
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let mut app = local_app(&args.data_dir, format!("http://{address}")).with_context(|| {
        format!(
            "opening the embedded store in {} (is another glucolink server using it?)",
            args.data_dir.display()
        )
    })?;
    app.config.clinic_join = clinic_join;
    if !args.no_demo {
        let created = demo::ensure(&app.ctx).await.context("creating demo data")?;
        if let Some(created) = created {
            println!("Created demo data in {}", args.data_dir.display());
            if let Some(code) = created.pending_code {
                println!("  The demo record \"Sam Pending\" waits for the unique code {code}.");
            }
        }
    }
    let site_dir = args.site_dir.unwrap_or_else(Site::source_tree_dir);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| {
            format!(
                "binding {address} (is another server using port {}?)",
                args.port
            )
        })?;
    println!("glucolink is running at http://{address}/");
    if !args.no_demo {
        println!("Demo logins:");
        for login in demo::logins() {
            println!("  {:<52} {}  /  {}", login.who, login.login, login.password);
        }
    }
    println!("Press Ctrl+C to stop.");
    let server = Arc::new(LocalServer {
        app,
        site: Site::new(site_dir, operator),
        limits: server::Limits::default(),
    });
    tokio::select! {
        () = server::run(listener, server) => Ok(()),
        signal = tokio::signal::ctrl_c() => {
            signal.context("waiting for Ctrl+C")?;
            println!("Stopped.");
            Ok(())
        }
    }
}

async fn clinic_invite(args: ClinicInviteArgs) -> anyhow::Result<()> {
    let app = local_app(&args.data_dir, args.url.clone()).with_context(|| {
        format!(
            "opening the embedded store in {} (stop the glucolink server first)",
            args.data_dir.display()
        )
    })?;
    let (clinic, invitation) = verify::add_clinic(&app.ctx, &args.name, &args.email, &args.url)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "Added {} and invited {} as its first admin (the invitation works until {}).",
        clinic.name,
        invitation.email,
        invitation.expires_at.strftime("%-d %B %Y, %H:%M UTC")
    );
    println!(
        "The email is in the local outbox: {}/dev/outbox",
        args.url.trim_end_matches('/')
    );
    Ok(())
}

async fn upload(args: UploadArgs) -> anyhow::Result<()> {
    let answer = upload_file(UploadRequest {
        site: &args.url,
        token: &args.token,
        file: &args.file,
        tz: args.tz.as_deref(),
        format: args.format.as_deref(),
    })
    .await
    .map_err(anyhow::Error::msg)?;
    println!(
        "Uploaded {} as {}: {} new events, {} already stored, {} rows not used.",
        args.file.display(),
        answer["format"].as_str().unwrap_or("?"),
        answer["accepted"],
        answer["duplicates"],
        answer["rejected_count"]
    );
    for rejected in answer["rejected"].as_array().into_iter().flatten().take(10) {
        println!(
            "  row {}: {}",
            rejected["row"],
            rejected["reason"].as_str().unwrap_or("")
        );
    }
    Ok(())
}

//! "Delete my account": a patient erases their personal account and everything glucolink holds about
//! them, after proving who they are (password, and a code when two-factor sign-in is on).
//!
//! In order, so that nothing new arrives while it runs: every session ends and every upload token is
//! withdrawn; each clinic they share with stops seeing their data (its record says `sharing_stopped`,
//! and its log says the account was deleted); then every item under `PERSON#<id>` (device data, uploads,
//! summaries, links, requests, the person's own log, the account itself) and every item that points to
//! the person (username, recovery contacts, two-factor secret and recovery codes, reset marker) is
//! deleted. What stays: the clinics' own records and logs (which they keep as clinical records), and one
//! line in the deletion log naming only the account's id and when. Rules: docs/ACCOUNTS.md.

use jiff::Timestamp;

use super::fields::Username;
use super::personal::Person;
use super::signin;
use crate::audit::NewEvent;
use crate::context::Ctx;
use crate::error::CoreError;
use crate::ids::ClinicId;
use crate::keys;
use crate::session::{self, Principal};
use crate::store::{Condition, Item, Key, Query, WriteOp, query_all};

/// The log of deleted accounts: an account's id and when, nothing else.
pub const DELETIONS_PK: &str = "DELETIONS";

/// Deletes the person's account and data. `code` is needed when two-factor sign-in is on.
pub async fn delete_account(
    ctx: &Ctx,
    person: &Person,
    password: &str,
    code: Option<&str>,
    source: &str,
) -> Result<(), CoreError> {
    signin::confirm_password(ctx, person, password, source).await?;
    if person.second_factors.authenticator_app {
        let code = code.filter(|c| !c.trim().is_empty()).ok_or_else(|| {
            CoreError::invalid(
                "code",
                "missing_field",
                "Two-factor sign-in is on: type a code from your authenticator app or a recovery code too.",
            )
        })?;
        super::two_factor::prove(
            ctx,
            &Principal::Person {
                person_id: person.id,
            },
            code,
        )
        .await?;
    }
    let principal = Principal::Person {
        person_id: person.id,
    };
    let pk = keys::person_pk(person.id);

    // 1. Nobody acts as the person any more: sessions end, upload tokens stop working.
    session::end_all(ctx, &principal).await?;
    for token in query_all(ctx.store.as_ref(), Query::prefix(pk.clone(), "TOKEN#")).await? {
        if let Some(hash) = token.s("token_hash") {
            ctx.store
                .delete(
                    &Key::new(format!("UPLOADTOKEN#{hash}"), keys::META),
                    Condition::None,
                )
                .await?;
        }
        ctx.store.delete(&token.key, Condition::None).await?;
    }

    // 2. Each clinic stops seeing the data, and its log says why.
    let links = query_all(
        ctx.store.as_ref(),
        Query::prefix(pk.clone(), keys::LINK_PREFIX),
    )
    .await?;
    for link in links {
        let Some(clinic_id) = link
            .key
            .sk
            .strip_prefix(keys::LINK_PREFIX)
            .and_then(|id| id.parse::<ClinicId>().ok())
        else {
            continue;
        };
        let clinic_name = link.s("clinic_name").unwrap_or_default().to_owned();
        match crate::link::revoke(ctx, person, clinic_id).await {
            Ok(()) | Err(CoreError::NotFound) => {}
            Err(other) => return Err(other),
        }
        crate::audit::record(
            ctx,
            NewEvent {
                actor: person.actor(),
                action: "account_deleted",
                clinic: Some((clinic_id, clinic_name.clone())),
                patient_id: link.s("patient_id").and_then(|id| id.parse().ok()),
                person_id: None,
                detail: format!(
                    "{} deleted their glucolink account: {clinic_name} no longer sees their data, and glucolink no longer holds it.",
                    person.name
                ),
            },
        )
        .await?;
    }

    // 3. Everything under the person's key (read by keys alone), and everything pointing to them.
    let mut keys_to_delete: Vec<Key> =
        query_all(ctx.store.as_ref(), Query::prefix(pk, "").only(&[]))
            .await?
            .into_iter()
            .map(|item| item.key)
            .collect();
    if let Ok(username) = Username::parse(&person.username) {
        keys_to_delete.push(keys::username(&username));
    }
    for contact in [person.email.as_deref(), person.phone.as_deref()]
        .into_iter()
        .flatten()
    {
        keys_to_delete.push(keys::contact(contact, person.id));
    }
    let subject = principal.subject();
    keys_to_delete.extend(super::two_factor::keys_of(ctx, &subject).await?);
    keys_to_delete.extend(super::passkey::keys_of(ctx, &subject).await?);
    keys_to_delete.push(keys::reset_latest(&subject));
    // The account item last: until it is gone, a failure part-way leaves an account that can try again.
    let account = keys::person(person.id);
    keys_to_delete.retain(|key| *key != account);
    keys_to_delete.push(account);
    for chunk in keys_to_delete.chunks(crate::store::MAX_TRANSACTION_OPS) {
        let ops = chunk
            .iter()
            .map(|key| WriteOp::Delete {
                key: key.clone(),
                condition: Condition::None,
            })
            .collect();
        ctx.store.transact(ops).await?;
    }

    // 4. The one line kept: which account, when.
    let now: Timestamp = ctx.clock.now();
    ctx.store
        .put(
            Item::new(Key::new(
                DELETIONS_PK,
                format!("{}#{}", now.as_millisecond(), person.id),
            ))
            .with_s("person_id", person.id.to_string())
            .with_n("at", now.as_millisecond()),
            Condition::NotExists,
        )
        .await?;
    Ok(())
}

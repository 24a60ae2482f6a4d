//! One conformance suite for every `Store`: each test below runs against the embedded store and DynamoDB.

use std::collections::BTreeSet;
use std::sync::Arc;

use glucolink_core::clock::{Clock, SystemClock};
use glucolink_core::store::{
    Condition, Direction, Index, Item, Key, MAX_ITEM_BYTES, Query, Store, StoreError, Value,
    WriteOp,
};

macro_rules! conformance {
    ($($test:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(crate::support::stores::embedded(crate::support::stores::system_clock())).await;
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(crate::support::stores::dynamodb(crate::support::stores::system_clock()).await).await;
                }
            )*
        }
    };
}

conformance!(
    put_then_get_returns_every_attribute_type,
    absent_item_reads_as_none,
    not_exists_condition_refuses_an_existing_item,
    exists_and_equals_conditions_guard_writes,
    conditional_delete_keeps_the_item_when_the_condition_fails,
    expired_items_are_invisible_before_physical_deletion,
    prefix_query_pages_forward_and_backward_in_sort_order,
    secondary_index_query_pages_in_index_order,
    transaction_writes_all_or_nothing_and_names_the_failed_condition,
    transaction_with_two_operations_on_one_item_is_invalid,
    increment_creates_counts_and_restarts_after_expiry,
    concurrent_increments_lose_no_update,
    concurrent_optimistic_updates_lose_no_update,
    concurrent_creates_of_one_key_have_exactly_one_winner,
    oversize_items_and_reserved_names_are_refused,
    malformed_cursor_is_refused,
    batch_get_returns_live_items_in_key_order,
    range_queries_include_both_bounds_and_page_both_ways,
    projected_queries_return_keys_expiry_and_only_the_named_attributes,
);

fn now() -> i64 {
    SystemClock.epoch_seconds()
}

fn sample(pk: &str, sk: &str) -> Item {
    Item::new(Key::new(pk, sk))
        .with_s("name", "Ana")
        .with_n("count", -42)
        .with("blob", Value::B(vec![0, 1, 2, 255]))
        .with("flag", Value::Bool(true))
}

async fn put_then_get_returns_every_attribute_type(store: Arc<dyn Store>) {
    let item = sample("P#1", "A")
        .expiring_at(now() + 3600)
        .indexed(Key::new("G#1", "x"));
    store.put(item.clone(), Condition::None).await.expect("put");
    assert_eq!(store.get(&item.key).await.expect("get"), Some(item));
}

async fn absent_item_reads_as_none(store: Arc<dyn Store>) {
    assert_eq!(
        store.get(&Key::new("nobody", "here")).await.expect("get"),
        None
    );
}

async fn not_exists_condition_refuses_an_existing_item(store: Arc<dyn Store>) {
    let first = sample("P#1", "A");
    store
        .put(first.clone(), Condition::NotExists)
        .await
        .expect("first put");
    let second = first.clone().with_s("name", "Bea");
    assert_eq!(
        store.put(second, Condition::NotExists).await,
        Err(StoreError::ConditionFailed)
    );
    assert_eq!(
        store.get(&first.key).await.expect("get"),
        Some(first),
        "the refused write changed nothing"
    );
}

async fn exists_and_equals_conditions_guard_writes(store: Arc<dyn Store>) {
    let key = Key::new("P#1", "V");
    let v1 = Item::new(key.clone()).with_n("version", 1);
    assert_eq!(
        store.put(v1.clone(), Condition::Exists).await,
        Err(StoreError::ConditionFailed)
    );
    store
        .put(v1.clone(), Condition::None)
        .await
        .expect("create");
    let v2 = Item::new(key.clone()).with_n("version", 2);
    let stale = Condition::Equals("version".into(), Value::N(0));
    assert_eq!(
        store.put(v2.clone(), stale).await,
        Err(StoreError::ConditionFailed)
    );
    store
        .put(v2.clone(), Condition::Equals("version".into(), Value::N(1)))
        .await
        .expect("update with the current version");
    assert_eq!(store.get(&key).await.expect("get"), Some(v2.clone()));
    // `Unchanged` with an absent attribute: the item exists and has no such attribute yet (a first
    // write of it).
    let with_extra = v2.clone().with_s("extra", "first");
    assert_eq!(
        store
            .put(
                with_extra.clone(),
                Condition::Unchanged {
                    equal: vec![],
                    absent: vec!["version".into()]
                }
            )
            .await,
        Err(StoreError::ConditionFailed)
    );
    assert_eq!(
        store
            .put(
                Item::new(Key::new("P#1", "absent")),
                Condition::Unchanged {
                    equal: vec![],
                    absent: vec!["extra".into()]
                }
            )
            .await,
        Err(StoreError::ConditionFailed)
    );
    store
        .put(
            with_extra.clone(),
            Condition::Unchanged {
                equal: vec![],
                absent: vec!["extra".into()],
            },
        )
        .await
        .expect("first write of the attribute");
    // `Unchanged`: several attributes at once, some equal, some absent.
    let unchanged = |version: i64, extra: &str, absent: &str| Condition::Unchanged {
        equal: vec![
            ("version".into(), Value::N(version)),
            ("extra".into(), Value::S(extra.into())),
        ],
        absent: vec![absent.into()],
    };
    let v3 = with_extra.clone().with_n("version", 3);
    for stale in [
        unchanged(1, "first", "missing"),
        unchanged(2, "second", "missing"),
        unchanged(2, "first", "version"),
    ] {
        assert_eq!(
            store.put(v3.clone(), stale).await,
            Err(StoreError::ConditionFailed)
        );
    }
    store
        .put(v3.clone(), unchanged(2, "first", "missing"))
        .await
        .expect("all as read");
    assert_eq!(store.get(&key).await.expect("get"), Some(v3));
    assert_eq!(
        store
            .put(
                with_extra.clone(),
                Condition::Unchanged {
                    equal: vec![],
                    absent: vec!["extra".into()]
                }
            )
            .await,
        Err(StoreError::ConditionFailed)
    );
}

async fn conditional_delete_keeps_the_item_when_the_condition_fails(store: Arc<dyn Store>) {
    let item = Item::new(Key::new("P#1", "D")).with_n("version", 3);
    store.put(item.clone(), Condition::None).await.expect("put");
    let wrong = Condition::Equals("version".into(), Value::N(2));
    assert_eq!(
        store.delete(&item.key, wrong).await,
        Err(StoreError::ConditionFailed)
    );
    assert!(store.get(&item.key).await.expect("get").is_some());
    store
        .delete(&item.key, Condition::Exists)
        .await
        .expect("delete");
    assert_eq!(store.get(&item.key).await.expect("get"), None);
    store
        .delete(&item.key, Condition::None)
        .await
        .expect("deleting an absent item is fine");
}

async fn expired_items_are_invisible_before_physical_deletion(store: Arc<dyn Store>) {
    let expired = sample("P#1", "E#1")
        .expiring_at(now() - 5)
        .indexed(Key::new("G#E", "1"));
    let live = sample("P#1", "E#2")
        .expiring_at(now() + 3600)
        .indexed(Key::new("G#E", "2"));
    store
        .put(expired.clone(), Condition::None)
        .await
        .expect("put expired");
    store
        .put(live.clone(), Condition::None)
        .await
        .expect("put live");
    assert_eq!(store.get(&expired.key).await.expect("get"), None);
    let page = store
        .query(&Query::prefix("P#1", "E#"))
        .await
        .expect("query");
    assert_eq!(keys(&page.items), vec!["E#2"]);
    let mut by_index = Query::prefix("G#E", "");
    by_index.index = Index::Gsi1;
    assert_eq!(
        keys(&store.query(&by_index).await.expect("gsi query").items),
        vec!["E#2"]
    );
    // An expired item counts as absent for conditions too.
    assert_eq!(
        store.put(expired.clone(), Condition::Exists).await,
        Err(StoreError::ConditionFailed)
    );
    let renewed = sample("P#1", "E#1").with_s("name", "renewed");
    store
        .put(renewed.clone(), Condition::NotExists)
        .await
        .expect("replace an expired item");
    assert_eq!(store.get(&renewed.key).await.expect("get"), Some(renewed));
}

fn keys(items: &[Item]) -> Vec<&str> {
    items.iter().map(|i| i.key.sk.as_str()).collect()
}

async fn collect_pages(store: &dyn Store, mut query: Query) -> Vec<Item> {
    let mut all = Vec::new();
    for _ in 0..100 {
        let page = store.query(&query).await.expect("query page");
        assert!(
            page.items.len() <= query.limit,
            "a page never holds more than the limit"
        );
        all.extend(page.items);
        match page.cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return all,
        }
    }
    panic!("pagination did not end");
}

async fn prefix_query_pages_forward_and_backward_in_sort_order(store: Arc<dyn Store>) {
    let ops: Vec<WriteOp> = (0..23)
        .map(|i| WriteOp::Put {
            item: Item::new(Key::new("P#1", format!("READING#{i:03}"))).with_n("i", i),
            condition: Condition::None,
        })
        .chain([
            WriteOp::Put {
                item: Item::new(Key::new("P#1", "META")),
                condition: Condition::None,
            },
            WriteOp::Put {
                item: Item::new(Key::new("P#2", "READING#000")),
                condition: Condition::None,
            },
            WriteOp::Put {
                item: Item::new(Key::new("P#1", "READINGS")),
                condition: Condition::None,
            },
        ])
        .collect();
    store.transact(ops).await.expect("seed");
    let expected: Vec<String> = (0..23).map(|i| format!("READING#{i:03}")).collect();

    let mut forward = Query::prefix("P#1", "READING#");
    forward.limit = 5;
    let items = collect_pages(store.as_ref(), forward).await;
    assert_eq!(
        keys(&items),
        expected.iter().map(String::as_str).collect::<Vec<_>>()
    );

    let mut backward = Query::prefix("P#1", "READING#");
    backward.limit = 7;
    backward.direction = Direction::Backward;
    let items = collect_pages(store.as_ref(), backward).await;
    let mut reversed = expected.clone();
    reversed.reverse();
    assert_eq!(
        keys(&items),
        reversed.iter().map(String::as_str).collect::<Vec<_>>()
    );

    let everything = collect_pages(store.as_ref(), Query::prefix("P#1", "")).await;
    assert_eq!(
        everything.len(),
        25,
        "an empty prefix reads the whole partition"
    );
}

async fn secondary_index_query_pages_in_index_order(store: Arc<dyn Store>) {
    for (i, name) in ["delta", "alpha", "charlie", "bravo", "echo", "alpha"]
        .iter()
        .enumerate()
    {
        let item = Item::new(Key::new(format!("PATIENT#{i}"), "META"))
            .with_s("name", *name)
            .indexed(Key::new("CLINIC#1", format!("NAME#{name}")));
        store.put(item, Condition::None).await.expect("put");
    }
    store
        .put(
            Item::new(Key::new("PATIENT#9", "META")).indexed(Key::new("CLINIC#2", "NAME#alpha")),
            Condition::None,
        )
        .await
        .expect("put other clinic");
    let mut query = Query::prefix("CLINIC#1", "NAME#");
    query.index = Index::Gsi1;
    query.limit = 2;
    let names: Vec<String> = collect_pages(store.as_ref(), query.clone())
        .await
        .iter()
        .map(|i| i.s("name").unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        names,
        ["alpha", "alpha", "bravo", "charlie", "delta", "echo"]
    );
    query.direction = Direction::Backward;
    query.sk_prefix = "NAME#a".into();
    let items = collect_pages(store.as_ref(), query).await;
    let pks: BTreeSet<&str> = items.iter().map(|i| i.key.pk.as_str()).collect();
    assert_eq!(pks, BTreeSet::from(["PATIENT#1", "PATIENT#5"]));
}

async fn transaction_writes_all_or_nothing_and_names_the_failed_condition(store: Arc<dyn Store>) {
    let existing = Item::new(Key::new("U#taken", "META")).with_s("owner", "first");
    store
        .put(existing.clone(), Condition::None)
        .await
        .expect("seed");
    let doomed = vec![
        WriteOp::Put {
            item: Item::new(Key::new("A#1", "META")),
            condition: Condition::NotExists,
        },
        WriteOp::Delete {
            key: Key::new("A#2", "META"),
            condition: Condition::None,
        },
        WriteOp::Put {
            item: Item::new(Key::new("U#taken", "META")).with_s("owner", "second"),
            condition: Condition::NotExists,
        },
    ];
    assert_eq!(
        store.transact(doomed).await,
        Err(StoreError::TransactionCanceled { index: 2 })
    );
    assert_eq!(
        store.get(&Key::new("A#1", "META")).await.expect("get"),
        None,
        "nothing of it was written"
    );
    assert_eq!(
        store.get(&existing.key).await.expect("get"),
        Some(existing.clone())
    );

    let check_fails = vec![
        WriteOp::Check {
            key: Key::new("U#missing", "META"),
            condition: Condition::Exists,
        },
        WriteOp::Put {
            item: Item::new(Key::new("A#1", "META")),
            condition: Condition::None,
        },
    ];
    assert_eq!(
        store.transact(check_fails).await,
        Err(StoreError::TransactionCanceled { index: 0 })
    );
    assert_eq!(
        store.get(&Key::new("A#1", "META")).await.expect("get"),
        None
    );

    let good = vec![
        WriteOp::Check {
            key: existing.key.clone(),
            condition: Condition::Equals("owner".into(), Value::S("first".into())),
        },
        WriteOp::Put {
            item: Item::new(Key::new("A#1", "META")),
            condition: Condition::NotExists,
        },
        WriteOp::Delete {
            key: Key::new("U#taken", "OTHER"),
            condition: Condition::None,
        },
    ];
    store.transact(good).await.expect("transaction");
    assert!(
        store
            .get(&Key::new("A#1", "META"))
            .await
            .expect("get")
            .is_some()
    );
}

async fn transaction_with_two_operations_on_one_item_is_invalid(store: Arc<dyn Store>) {
    let key = Key::new("A#1", "META");
    let ops = vec![
        WriteOp::Put {
            item: Item::new(key.clone()),
            condition: Condition::None,
        },
        WriteOp::Delete {
            key: key.clone(),
            condition: Condition::None,
        },
    ];
    assert!(matches!(
        store.transact(ops).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.get(&key).await.expect("get"), None);
    assert!(matches!(
        store.transact(vec![]).await,
        Err(StoreError::Invalid(_))
    ));
}

async fn increment_creates_counts_and_restarts_after_expiry(store: Arc<dyn Store>) {
    let key = Key::new("THROTTLE#x", "META");
    let window_end = now() + 900;
    assert_eq!(
        store.increment(&key, "count", 1, Some(window_end)).await,
        Ok(1)
    );
    assert_eq!(
        store
            .increment(&key, "count", 2, Some(window_end + 500))
            .await,
        Ok(3)
    );
    let item = store.get(&key).await.expect("get").expect("counter exists");
    assert_eq!(
        item.expires_at,
        Some(window_end),
        "an existing counter keeps its window"
    );

    let stale = Item::new(Key::new("THROTTLE#y", "META"))
        .with_n("count", 99)
        .expiring_at(now() - 1);
    store
        .put(stale.clone(), Condition::None)
        .await
        .expect("put expired counter");
    assert_eq!(
        store
            .increment(&stale.key, "count", 1, Some(window_end))
            .await,
        Ok(1),
        "expired counters restart"
    );
}

async fn concurrent_increments_lose_no_update(store: Arc<dyn Store>) {
    let key = Key::new("COUNTER#1", "META");
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let key = key.clone();
            tokio::spawn(async move {
                for _ in 0..5 {
                    store
                        .increment(&key, "n", 1, None)
                        .await
                        .expect("increment");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    assert_eq!(
        store.get(&key).await.expect("get").and_then(|i| i.n("n")),
        Some(40)
    );
}

async fn concurrent_optimistic_updates_lose_no_update(store: Arc<dyn Store>) {
    let key = Key::new("DOC#1", "META");
    store
        .put(
            Item::new(key.clone())
                .with_n("version", 0)
                .with_n("total", 0),
            Condition::None,
        )
        .await
        .expect("seed");
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let store = store.clone();
            let key = key.clone();
            tokio::spawn(async move {
                for _ in 0..3 {
                    loop {
                        let current = store.get(&key).await.expect("get").expect("exists");
                        let version = current.n("version").expect("version");
                        let next = current
                            .clone()
                            .with_n("version", version + 1)
                            .with_n("total", current.n("total").expect("total") + 1);
                        match store
                            .put(next, Condition::Equals("version".into(), Value::N(version)))
                            .await
                        {
                            Ok(()) => break,
                            Err(StoreError::ConditionFailed) => continue,
                            Err(other) => panic!("unexpected {other:?}"),
                        }
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    let item = store.get(&key).await.expect("get").expect("exists");
    assert_eq!(item.n("total"), Some(18));
    assert_eq!(item.n("version"), Some(18));
}

async fn concurrent_creates_of_one_key_have_exactly_one_winner(store: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let item = Item::new(Key::new("USERNAME#ana", "META")).with_n("winner", i);
                store.put(item, Condition::NotExists).await
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(()) => winners += 1,
            Err(StoreError::ConditionFailed) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(winners, 1);
}

async fn oversize_items_and_reserved_names_are_refused(store: Arc<dyn Store>) {
    let big = Item::new(Key::new("BIG#1", "META")).with("data", Value::B(vec![7; MAX_ITEM_BYTES]));
    assert_eq!(
        store.put(big.clone(), Condition::None).await,
        Err(StoreError::ItemTooLarge)
    );
    assert_eq!(store.get(&big.key).await.expect("get"), None);
    let reserved = Item::new(Key::new("BAD#1", "META")).with_s("ttl", "nope");
    assert!(matches!(
        store.put(reserved, Condition::None).await,
        Err(StoreError::Invalid(_))
    ));
    let fits = Item::new(Key::new("BIG#2", "META")).with("data", Value::B(vec![7; 300 * 1024]));
    store
        .put(fits.clone(), Condition::None)
        .await
        .expect("300 KB fits");
    assert_eq!(store.get(&fits.key).await.expect("get"), Some(fits));
}

async fn malformed_cursor_is_refused(store: Arc<dyn Store>) {
    let mut query = Query::prefix("P#1", "");
    query.cursor = Some("not-a-cursor!".into());
    assert!(matches!(
        store.query(&query).await,
        Err(StoreError::Invalid(_))
    ));
}

async fn batch_get_returns_live_items_in_key_order(store: Arc<dyn Store>) {
    for sk in ["a", "b", "c"] {
        store
            .put(sample("BATCH", sk), Condition::None)
            .await
            .expect("put");
    }
    let expired = sample("BATCH", "old").expiring_at(now() - 1);
    store.put(expired, Condition::None).await.expect("put");
    let keys: Vec<Key> = ["c", "missing", "a", "old", "b"]
        .into_iter()
        .map(|sk| Key::new("BATCH", sk))
        .collect();
    let found = store.batch_get(&keys).await.expect("batch get");
    let found_keys: Vec<&str> = found.iter().map(|i| i.key.sk.as_str()).collect();
    assert_eq!(found_keys, vec!["c", "a", "b"]);
    assert_eq!(found[0], sample("BATCH", "c"));
    assert!(store.batch_get(&[]).await.expect("empty").is_empty());
    let twice = vec![Key::new("BATCH", "a"), Key::new("BATCH", "a")];
    assert!(matches!(
        store.batch_get(&twice).await,
        Err(StoreError::Invalid(_))
    ));
    let many: Vec<Key> = (0..101)
        .map(|i| Key::new("BATCH", format!("k{i}")))
        .collect();
    assert!(matches!(
        store.batch_get(&many).await,
        Err(StoreError::Invalid(_))
    ));
}

async fn range_queries_include_both_bounds_and_page_both_ways(store: Arc<dyn Store>) {
    for day in [
        "2026-08-31",
        "2026-09-01",
        "2026-09-15",
        "2026-09-30",
        "2026-10-01",
    ] {
        for kind in ["cgm", "bolus"] {
            let item = sample("RANGE", &format!("DATA#{day}#{kind}"))
                .indexed(Key::new("RANGEIDX", format!("{day}#{kind}")));
            store.put(item, Condition::None).await.expect("put");
        }
    }
    store
        .put(sample("RANGE", "OTHER#2026-09-10"), Condition::None)
        .await
        .expect("put");
    let mut query = Query::prefix("RANGE", "DATA#").between("DATA#2026-09-01", "DATA#2026-09-30#~");
    query.limit = 3;
    let forward = collect_pages(store.as_ref(), query.clone()).await;
    assert_eq!(
        keys(&forward),
        vec![
            "DATA#2026-09-01#bolus",
            "DATA#2026-09-01#cgm",
            "DATA#2026-09-15#bolus",
            "DATA#2026-09-15#cgm",
            "DATA#2026-09-30#bolus",
            "DATA#2026-09-30#cgm",
        ]
    );
    query.direction = Direction::Backward;
    let backward = collect_pages(store.as_ref(), query).await;
    let mut reversed = keys(&backward);
    reversed.reverse();
    assert_eq!(reversed, keys(&forward));

    let mut exact = Query::prefix("RANGEIDX", "").between("2026-09-15#bolus", "2026-09-30#bolus");
    exact.index = Index::Gsi1;
    let found = collect_pages(store.as_ref(), exact).await;
    assert_eq!(
        keys(&found),
        vec![
            "DATA#2026-09-15#bolus",
            "DATA#2026-09-15#cgm",
            "DATA#2026-09-30#bolus"
        ],
        "index bounds are inclusive too"
    );
}

async fn projected_queries_return_keys_expiry_and_only_the_named_attributes(store: Arc<dyn Store>) {
    let expires = now() + 3600;
    for sk in ["a", "b", "c"] {
        let item = sample("PROJ", sk)
            .expiring_at(expires)
            .indexed(Key::new("PROJIDX", sk));
        store.put(item, Condition::None).await.expect("put");
    }
    let without_flag = Item::new(Key::new("PROJ", "d")).with_s("name", "Bo");
    store.put(without_flag, Condition::None).await.expect("put");

    let mut query = Query::prefix("PROJ", "").only(&["name", "flag"]);
    query.limit = 2;
    let found = collect_pages(store.as_ref(), query).await;
    assert_eq!(keys(&found), vec!["a", "b", "c", "d"]);
    for item in &found[..3] {
        let names: Vec<&str> = item.attrs.keys().map(String::as_str).collect();
        assert_eq!(names, vec!["flag", "name"], "{}", item.key.sk);
        assert_eq!(item.s("name"), Some("Ana"));
        assert_eq!(item.expires_at, Some(expires));
        assert_eq!(item.gsi1, Some(Key::new("PROJIDX", item.key.sk.clone())));
    }
    assert_eq!(
        found[3],
        Item::new(Key::new("PROJ", "d")).with_s("name", "Bo")
    );

    let mut by_index = Query::prefix("PROJIDX", "").only(&["count"]);
    by_index.index = Index::Gsi1;
    let found = collect_pages(store.as_ref(), by_index).await;
    assert_eq!(keys(&found), vec!["a", "b", "c"]);
    assert!(
        found
            .iter()
            .all(|item| item.attrs.len() == 1 && item.n("count") == Some(-42))
    );

    // The whole item is still there for a query without a projection.
    let whole = collect_pages(store.as_ref(), Query::prefix("PROJ", "a")).await;
    assert_eq!(whole[0].b("blob"), Some(&[0u8, 1, 2, 255][..]));
}

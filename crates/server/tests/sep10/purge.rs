//! Housekeeping deletes in batches (`db::Purge`): every expired row goes,
//! however many, and nothing else; on both engines.

use mooring_server::db::{Db, PURGE_BATCH, Purge};

use crate::common::{Engine, TestDb};

/// More than two batches' worth.
const EXPIRED: i64 = 2 * PURGE_BATCH + 234;

async fn expired_used_challenges_go_in_batches(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let test_db = TestDb::create(engine, dir.path()).await;
    let db = Db::connect(&test_db.url, 2).await.unwrap();
    db.migrate().await.unwrap();
    // EXPIRED records of challenges that ended at 1,000, ten that end at
    // 5,000.
    let fill = |n: i64, expires: i64| match engine {
        Engine::Sqlite => format!(
            "INSERT INTO sep10_used_challenges (hash, expires_at) \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) \
             SELECT randomblob(32), {expires} FROM n"
        ),
        Engine::Postgres => format!(
            "INSERT INTO sep10_used_challenges (hash, expires_at) \
             SELECT decode(md5(random()::text) || md5(random()::text), 'hex'), {expires} \
             FROM generate_series(1, {n})"
        ),
    };
    let count = "SELECT COUNT(*) FROM sep10_used_challenges";
    match &db {
        Db::Sqlite(s) => {
            sqlx::query(&fill(EXPIRED, 1_000))
                .execute(&mut *s.write.get().await.unwrap())
                .await
                .unwrap();
            sqlx::query(&fill(10, 5_000))
                .execute(&mut *s.write.get().await.unwrap())
                .await
                .unwrap();
        }
        Db::Postgres(p) => {
            sqlx::query(&fill(EXPIRED, 1_000)).execute(p).await.unwrap();
            sqlx::query(&fill(10, 5_000)).execute(p).await.unwrap();
        }
    }
    let purge = Purge {
        table: "sep10_used_challenges",
        key: "expires_at, hash",
        filter: "expires_at < $1",
    };
    assert_eq!(purge.run(&db, 2_000).await.unwrap(), EXPIRED.unsigned_abs());
    let left: i64 = match &db {
        Db::Sqlite(s) => sqlx::query_scalar(count)
            .fetch_one(&mut *s.write.get().await.unwrap())
            .await
            .unwrap(),
        Db::Postgres(p) => sqlx::query_scalar(count).fetch_one(p).await.unwrap(),
    };
    assert_eq!(left, 10, "the records still needed stay");
    // Nothing left to purge: one statement, nothing deleted.
    assert_eq!(purge.run(&db, 2_000).await.unwrap(), 0);
    db.close().await;
    test_db.drop_db().await;
}

crate::on_both_engines!(expired_used_challenges_go_in_batches);

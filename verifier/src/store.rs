//! The verifier's state in a real database through `sqlx`: SQLite by default, PostgreSQL when
//! several replicas share it. One set of migrations serves both (portable types only); the
//! one statement that differs is the claim, where PostgreSQL needs `FOR UPDATE SKIP LOCKED`
//! so that two replicas claiming at once skip each other's rows (SQLite has one writer, so its
//! claim is atomic as it is).
//!
//! Leasing: a replica claims due targets by writing its name and a lease expiry; it records
//! the round it attested only while it still holds the lease and the round is the one it
//! claimed (fencing). A replica that dies holds its targets until the lease expires, then
//! another claims them; a replica whose lease was taken over has its late result discarded,
//! and the `(target, round)` primary key of the history makes a round count once.

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use thiserror::Error;

/// A database failure or a refused change.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database failed; the message is sqlx's.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A target of that name exists.
    #[error("a target named {0:?} exists; DELETE it first to change it")]
    Exists(String),
    /// `--max-targets` reached.
    #[error("the verifier holds {0} targets, its --max-targets")]
    Full(u32),
}

/// Which database the URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One file, one writer.
    Sqlite,
    /// Shared by replicas.
    Postgres,
}

/// A target's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Not attested yet.
    Pending,
    /// The last attestation passed.
    Trusted,
    /// The last attestation failed a check or the policy.
    Untrusted,
    /// The last challenge got no evidence (connection, timeout, refusal, agent gone).
    Unreachable,
}

impl State {
    /// Every state, for metrics.
    pub const ALL: [State; 4] = [State::Pending, State::Trusted, State::Untrusted, State::Unreachable];

    /// The lowercase name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Trusted => "trusted",
            State::Untrusted => "untrusted",
            State::Unreachable => "unreachable",
        }
    }

    fn parse(s: &str) -> State {
        match s {
            "trusted" => State::Trusted,
            "untrusted" => State::Untrusted,
            "unreachable" => State::Unreachable,
            _ => State::Pending,
        }
    }
}

/// What an admin registers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpec {
    /// Unique name.
    pub name: String,
    /// The bridge (`tcp:HOST:PORT`, `vsock:CID:PORT`, `unix:PATH`).
    pub connect: String,
    /// A container behind that bridge's rasd, by id or name.
    pub container: Option<String>,
    /// The container's runtime (`docker` by default when a container is named).
    pub runtime: Option<String>,
    /// A VM guest, by CID.
    pub vm: Option<i64>,
    /// Milliseconds between attestations.
    pub interval_ms: i64,
    /// Rego policy text; None: the default policy.
    pub policy: Option<String>,
    /// Reference values text; None: no reference check.
    pub reference: Option<String>,
}

/// One completed round, as shown in a target's history.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Attestation {
    /// Round number, from 1.
    pub round: i64,
    /// When, in ms since the epoch.
    pub time: i64,
    /// The replica that attested.
    pub replica: String,
    /// The state it led to.
    pub state: State,
    /// `pass`, `fail` or `error`.
    pub verdict: String,
    /// The first failed check.
    pub failed_check: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// How long the challenge and verification took.
    pub latency_us: i64,
}

/// A target with its state.
#[derive(Debug, Clone)]
pub struct Target {
    /// What was registered.
    pub spec: TargetSpec,
    /// Its state.
    pub state: State,
    /// Completed rounds.
    pub round: i64,
    /// The last round, if any.
    pub last: Option<Attestation>,
}

/// A due target this replica holds the lease of.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The target.
    pub spec: TargetSpec,
    /// Its state before this round.
    pub state: State,
    /// The round being attested (completed rounds + 1).
    pub round: i64,
    /// This claim's lease token: the round is recorded only while the target still holds it.
    pub token: String,
}

/// The verifier's database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// Most rounds kept per target.
pub const HISTORY: i64 = 100;

const TARGET_COLUMNS: &str =
    "name, connect, container, runtime, vm, interval_ms, policy, reference, state, round, last_time, last_verdict, last_check, last_reason";

fn spec_of(row: &AnyRow) -> Result<TargetSpec, sqlx::Error> {
    Ok(TargetSpec {
        name: row.try_get("name")?,
        connect: row.try_get("connect")?,
        container: row.try_get("container")?,
        runtime: row.try_get("runtime")?,
        vm: row.try_get("vm")?,
        interval_ms: row.try_get("interval_ms")?,
        policy: row.try_get("policy")?,
        reference: row.try_get("reference")?,
    })
}

fn target_of(row: &AnyRow) -> Result<Target, sqlx::Error> {
    let state = State::parse(&row.try_get::<String, _>("state")?);
    let round: i64 = row.try_get("round")?;
    let last = match row.try_get::<Option<i64>, _>("last_time")? {
        None => None,
        Some(time) => Some(Attestation {
            round,
            time,
            replica: String::new(),
            state,
            verdict: row.try_get::<Option<String>, _>("last_verdict")?.unwrap_or_default(),
            failed_check: row.try_get("last_check")?,
            reason: row.try_get("last_reason")?,
            latency_us: 0,
        }),
    };
    Ok(Target { spec: spec_of(row)?, state, round, last })
}

impl Store {
    /// Connects and brings the schema up to date.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") { Backend::Sqlite } else { Backend::Postgres };
        let options = AnyPoolOptions::new().max_connections(match backend {
            // One writer anyway; a few readers for the API.
            Backend::Sqlite => 4,
            Backend::Postgres => 16,
        });
        let options = if backend == Backend::Sqlite {
            options.after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL: readers do not wait for the writer; a busy writer is waited for.
                    sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                    sqlx::query("PRAGMA busy_timeout = 10000").execute(&mut *conn).await?;
                    sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut *conn).await?;
                    Ok(())
                })
            })
        } else {
            options
        };
        let pool = options.connect(url).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store { pool, backend })
    }

    /// The database kind.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Registers a target, due at once.
    pub async fn add_target(&self, t: &TargetSpec, now: i64, max: u32) -> Result<(), StoreError> {
        let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM targets").fetch_one(&self.pool).await?.try_get("n")?;
        if count >= i64::from(max) {
            return Err(StoreError::Full(max));
        }
        let inserted = sqlx::query(
            "INSERT INTO targets (name, connect, container, runtime, vm, interval_ms, policy, reference, state, round, next_due, created) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, $9, $9) ON CONFLICT (name) DO NOTHING",
        )
        .bind(&t.name)
        .bind(&t.connect)
        .bind(&t.container)
        .bind(&t.runtime)
        .bind(t.vm)
        .bind(t.interval_ms)
        .bind(&t.policy)
        .bind(&t.reference)
        .bind(now)
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::Exists(t.name.clone()));
        }
        Ok(())
    }

    /// Every target, by name.
    pub async fn targets(&self) -> Result<Vec<Target>, StoreError> {
        let rows =
            sqlx::query(&format!("SELECT {TARGET_COLUMNS} FROM targets ORDER BY name")).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(target_of).collect::<Result<_, _>>()?)
    }

    /// One target.
    pub async fn target(&self, name: &str) -> Result<Option<Target>, StoreError> {
        let row = sqlx::query(&format!("SELECT {TARGET_COLUMNS} FROM targets WHERE name = $1"))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(target_of).transpose()?)
    }

    /// A target's last `limit` rounds, newest first.
    pub async fn history(&self, name: &str, limit: i64) -> Result<Vec<Attestation>, StoreError> {
        let rows = sqlx::query(
            "SELECT round, time, replica, state, verdict, failed_check, reason, latency_us FROM attestations \
             WHERE target = $1 ORDER BY round DESC LIMIT $2",
        )
        .bind(name)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Attestation {
                    round: r.try_get("round")?,
                    time: r.try_get("time")?,
                    replica: r.try_get("replica")?,
                    state: State::parse(&r.try_get::<String, _>("state")?),
                    verdict: r.try_get("verdict")?,
                    failed_check: r.try_get("failed_check")?,
                    reason: r.try_get("reason")?,
                    latency_us: r.try_get("latency_us")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Removes a target and its history; false when there was none.
    pub async fn delete_target(&self, name: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let gone = sqlx::query("DELETE FROM targets WHERE name = $1").bind(name).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM attestations WHERE target = $1").bind(name).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(gone.rows_affected() > 0)
    }

    /// Claims up to `limit` due targets that no live lease holds, for `lease_ms`.
    pub async fn claim(&self, owner: &str, now: i64, lease_ms: i64, limit: i64) -> Result<Vec<Claimed>, StoreError> {
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE targets SET lease_owner = $1, lease_until = $2, lease_token = $5 WHERE name IN \
             (SELECT name FROM targets WHERE next_due <= $3 AND (lease_until IS NULL OR lease_until < $3) \
              ORDER BY next_due LIMIT $4 {lock}) \
             AND (lease_until IS NULL OR lease_until < $3) \
             RETURNING name, connect, container, runtime, vm, interval_ms, policy, reference, state, round, lease_token"
        );
        let mut token = [0u8; 16];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut token)
            .map_err(|_| sqlx::Error::Protocol("no randomness for a lease token".into()))?;
        let rows = sqlx::query(&sql)
            .bind(owner)
            .bind(now + lease_ms)
            .bind(now)
            .bind(limit)
            .bind(hex::encode(token))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Claimed {
                    spec: spec_of(r)?,
                    state: State::parse(&r.try_get::<String, _>("state")?),
                    round: r.try_get::<i64, _>("round")? + 1,
                    token: r.try_get("lease_token")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Records a round (as attested by `owner`) if the target still holds this claim's lease
    /// token; false when the lease was taken over or the target deleted (even if re-added
    /// since), and then nothing is written.
    pub async fn record(
        &self,
        owner: &str,
        claimed: &Claimed,
        a: &Attestation,
        next_due: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE targets SET round = $1, state = $2, last_time = $3, last_verdict = $4, last_check = $5, \
             last_reason = $6, next_due = $7, lease_owner = NULL, lease_until = NULL, lease_token = NULL \
             WHERE name = $8 AND lease_token = $9 AND round = $10",
        )
        .bind(claimed.round)
        .bind(a.state.as_str())
        .bind(a.time)
        .bind(&a.verdict)
        .bind(&a.failed_check)
        .bind(&a.reason)
        .bind(next_due)
        .bind(&claimed.spec.name)
        .bind(&claimed.token)
        .bind(claimed.round - 1)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO attestations (target, round, time, replica, state, verdict, failed_check, reason, latency_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&claimed.spec.name)
        .bind(claimed.round)
        .bind(a.time)
        .bind(owner)
        .bind(a.state.as_str())
        .bind(&a.verdict)
        .bind(&a.failed_check)
        .bind(&a.reason)
        .bind(a.latency_us)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM attestations WHERE target = $1 AND round <= $2")
            .bind(&claimed.spec.name)
            .bind(claimed.round - HISTORY)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Gives up this replica's leases (at a clean stop), so others need not wait them out.
    pub async fn release_leases(&self, owner: &str) -> Result<u64, StoreError> {
        let r = sqlx::query(
            "UPDATE targets SET lease_owner = NULL, lease_until = NULL, lease_token = NULL WHERE lease_owner = $1",
        )
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    /// Targets by state.
    pub async fn state_counts(&self) -> Result<Vec<(State, i64)>, StoreError> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM targets GROUP BY state").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok((State::parse(&r.try_get::<String, _>("state")?), r.try_get("n")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Stores a secret, replacing one of the same name; true when it is new.
    pub async fn put_secret(
        &self,
        name: &str,
        value: &str,
        policy: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let existed = self.secret(name).await?.is_some();
        // One statement: two admins storing the same new name at once both succeed.
        sqlx::query(
            "INSERT INTO secrets (name, value, policy, updated) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value, policy = excluded.policy, updated = excluded.updated",
        )
        .bind(name)
        .bind(value)
        .bind(policy)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(!existed)
    }

    /// A secret's value and policy.
    pub async fn secret(&self, name: &str) -> Result<Option<(String, Option<String>)>, StoreError> {
        let row = sqlx::query("SELECT value, policy FROM secrets WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| Ok::<_, sqlx::Error>((r.try_get("value")?, r.try_get("policy")?))).transpose()?)
    }

    /// Removes a secret; false when there was none.
    pub async fn delete_secret(&self, name: &str) -> Result<bool, StoreError> {
        let r = sqlx::query("DELETE FROM secrets WHERE name = $1").bind(name).execute(&self.pool).await?;
        Ok(r.rows_affected() > 0)
    }

    /// The challenge key shared by every replica: created by the first, read by the rest.
    pub async fn challenge_key(&self) -> Result<Vec<u8>, StoreError> {
        let mut fresh = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut fresh)
            .map_err(|_| sqlx::Error::Protocol("no randomness for the challenge key".into()))?;
        sqlx::query("INSERT INTO settings (name, value) VALUES ('challenge_key', $1) ON CONFLICT (name) DO NOTHING")
            .bind(hex::encode(fresh))
            .execute(&self.pool)
            .await?;
        let stored: String = sqlx::query("SELECT value FROM settings WHERE name = 'challenge_key'")
            .fetch_one(&self.pool)
            .await?
            .try_get("value")?;
        hex::decode(stored).map_err(|_| sqlx::Error::Protocol("the stored challenge key is not hex".into()).into())
    }

    /// Marks a challenge used; false when it already was (a replay).
    pub async fn use_challenge(&self, nonce_hex: &str, expires_ms: i64) -> Result<bool, StoreError> {
        let r =
            sqlx::query("INSERT INTO used_challenges (nonce, expires) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING")
                .bind(nonce_hex)
                .bind(expires_ms)
                .execute(&self.pool)
                .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Forgets used challenges that have expired (they are refused for their expiry anyway).
    pub async fn prune(&self, now: i64) -> Result<u64, StoreError> {
        let r = sqlx::query("DELETE FROM used_challenges WHERE expires < $1").bind(now).execute(&self.pool).await?;
        Ok(r.rows_affected())
    }

    /// A trivial query: the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> TargetSpec {
        TargetSpec {
            name: name.into(),
            connect: "tcp:127.0.0.1:7000".into(),
            container: None,
            runtime: None,
            vm: None,
            interval_ms: 1000,
            policy: None,
            reference: None,
        }
    }

    fn round(state: State, time: i64) -> Attestation {
        Attestation {
            round: 0,
            time,
            replica: String::new(),
            state,
            verdict: "pass".into(),
            failed_check: None,
            reason: None,
            latency_us: 1,
        }
    }

    #[tokio::test]
    async fn a_lease_keeps_others_off_until_it_expires_and_a_late_result_is_fenced_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite://{}?mode=rwc", dir.path().join("v.db").display())).await.unwrap();
        store.add_target(&spec("t"), 1000, 10).await.unwrap();
        assert!(matches!(store.add_target(&spec("t"), 1000, 10).await, Err(StoreError::Exists(_))));
        assert!(matches!(store.add_target(&spec("u"), 1000, 1).await, Err(StoreError::Full(1))));

        let a = store.claim("a", 1000, 3000, 10).await.unwrap();
        assert_eq!((a.len(), a[0].round, a[0].state), (1, 1, State::Pending));
        assert!(store.claim("b", 3999, 3000, 10).await.unwrap().is_empty(), "a's lease is live");
        let b = store.claim("b", 4001, 3000, 10).await.unwrap();
        assert_eq!((b.len(), b[0].round), (1, 1), "an expired lease is taken over for the same round");
        assert!(!store.record("a", &a[0], &round(State::Untrusted, 4100), 5000).await.unwrap(), "a is fenced out");
        assert!(store.record("b", &b[0], &round(State::Trusted, 4200), 5200).await.unwrap());
        assert!(!store.record("b", &b[0], &round(State::Trusted, 4300), 5300).await.unwrap(), "a round counts once");

        let t = store.target("t").await.unwrap().unwrap();
        assert_eq!((t.state, t.round), (State::Trusted, 1));
        let h = store.history("t", 10).await.unwrap();
        assert_eq!((h.len(), h[0].replica.as_str(), h[0].time), (1, "b", 4200));
        assert!(store.claim("a", 5100, 3000, 10).await.unwrap().is_empty(), "not due before next_due");
        assert_eq!(store.claim("a", 5200, 3000, 10).await.unwrap()[0].round, 2);
        assert_eq!(store.release_leases("a").await.unwrap(), 1);
        assert_eq!(store.state_counts().await.unwrap(), vec![(State::Trusted, 1)]);
        assert!(store.delete_target("t").await.unwrap());
        assert!(store.history("t", 10).await.unwrap().is_empty());

        // A claim of a deleted target never records into a new one of the same name.
        store.add_target(&spec("t"), 6000, 10).await.unwrap();
        let old = store.claim("a", 6000, 3000, 10).await.unwrap();
        assert!(store.delete_target("t").await.unwrap());
        store.add_target(&spec("t"), 6001, 10).await.unwrap();
        let new = store.claim("a", 6001, 3000, 10).await.unwrap();
        assert_eq!((old[0].round, new[0].round), (1, 1));
        assert!(!store.record("a", &old[0], &round(State::Untrusted, 6100), 7000).await.unwrap(), "stale claim");
        assert!(store.record("a", &new[0], &round(State::Trusted, 6200), 7200).await.unwrap());
    }

    #[tokio::test]
    async fn a_challenge_is_used_once_and_the_key_is_shared() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite://{}?mode=rwc", dir.path().join("v.db").display())).await.unwrap();
        let key = store.challenge_key().await.unwrap();
        assert_eq!(store.challenge_key().await.unwrap(), key, "created once, then read");
        assert!(store.use_challenge("n1", 2000).await.unwrap());
        assert!(!store.use_challenge("n1", 2000).await.unwrap(), "a replay");
        assert_eq!(store.prune(1999).await.unwrap(), 0);
        assert_eq!(store.prune(2001).await.unwrap(), 1);
        assert!(store.put_secret("s", "v1", None, 1).await.unwrap());
        assert!(!store.put_secret("s", "v2", Some("package ras"), 2).await.unwrap());
        assert_eq!(store.secret("s").await.unwrap(), Some(("v2".into(), Some("package ras".into()))));
    }
}

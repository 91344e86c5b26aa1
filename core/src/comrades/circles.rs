//! Circles: named groups of comrades, such as "Wellbeing circle".

use std::fmt;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::store::{self, ComradeId};
use super::{Comrades, Recipient};
use crate::redact::Text;
use crate::time::from_ms;
use crate::{Error, Result, name};

crate::id::uuid_id!(CircleId, "circle id");

#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Circle {
    pub id: CircleId,
    pub name: String,
    /// Alphabetical by the names I gave them. Blocked comrades stay members
    /// but receive nothing.
    pub members: Vec<ComradeId>,
    pub created_at: DateTime<Utc>,
}

impl fmt::Debug for Circle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Circle")
            .field("id", &self.id)
            .field("name", &Text(&self.name))
            .field("members", &self.members.len())
            .finish_non_exhaustive()
    }
}

impl Comrades<'_> {
    pub fn create_circle(&self, name: &str) -> Result<Circle> {
        let name = name::clean(name)?;
        self.vault.with_tx(|tx| {
            store::check_name_free(tx, "circles", name, None)?;
            tx.execute(
                "INSERT INTO circles (id, name, created_at) VALUES (?1, ?2, ?3)",
                params![
                    CircleId::new().to_string(),
                    name,
                    Utc::now().timestamp_millis()
                ],
            )?;
            load(tx, tx.last_insert_rowid())
        })
    }

    pub fn rename_circle(&self, id: CircleId, name: &str) -> Result<Circle> {
        let name = name::clean(name)?;
        self.change_circle(id, |tx, seq| {
            store::check_name_free(tx, "circles", name, Some(seq))?;
            tx.execute(
                "UPDATE circles SET name = ?2 WHERE seq = ?1",
                params![seq, name],
            )?;
            Ok(())
        })
    }

    /// The circle goes; its members stay my comrades.
    pub fn delete_circle(&self, id: CircleId) -> Result<()> {
        self.vault.with_tx(|tx| {
            let seq = seq_of(tx, id)?;
            tx.execute("DELETE FROM circles WHERE seq = ?1", [seq])?;
            Ok(())
        })
    }

    /// Adding someone already in the circle changes nothing.
    pub fn add_to_circle(&self, circle: CircleId, comrade: ComradeId) -> Result<Circle> {
        self.add_all_to_circle(circle, &[comrade])
    }

    /// All of them, or none if any is not a comrade.
    pub fn add_all_to_circle(&self, circle: CircleId, comrades: &[ComradeId]) -> Result<Circle> {
        self.change_circle(circle, |tx, seq| {
            for comrade in comrades {
                let member = store::seq_of(tx, *comrade)?;
                tx.execute(
                    "INSERT OR IGNORE INTO circle_members (circle, comrade) VALUES (?1, ?2)",
                    [seq, member],
                )?;
            }
            Ok(())
        })
    }

    pub fn remove_from_circle(&self, circle: CircleId, comrade: ComradeId) -> Result<Circle> {
        self.change_circle(circle, |tx, seq| {
            let member = store::seq_of(tx, comrade)?;
            tx.execute(
                "DELETE FROM circle_members WHERE circle = ?1 AND comrade = ?2",
                [seq, member],
            )?;
            Ok(())
        })
    }

    /// Alphabetical.
    pub fn circles(&self) -> Result<Vec<Circle>> {
        self.vault.with_conn(|conn| {
            let seqs: Vec<i64> = conn
                .prepare("SELECT seq FROM circles ORDER BY name")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            seqs.into_iter().map(|seq| load(conn, seq)).collect()
        })
    }

    pub fn circle(&self, id: CircleId) -> Result<Circle> {
        self.vault.with_conn(|conn| load(conn, seq_of(conn, id)?))
    }

    /// By name, ignoring case.
    pub fn find_circle(&self, name: &str) -> Result<Circle> {
        self.vault.with_conn(|conn| {
            let seq = conn
                .query_row(
                    "SELECT seq FROM circles WHERE name = ?1",
                    [name.trim()],
                    |r| r.get(0),
                )
                .optional()?
                .ok_or(Error::NotFound { what: "circle" })?;
            load(conn, seq)
        })
    }

    /// Whom a name the member typed means: a comrade, else a circle (a
    /// comrade wins when both have the name), ignoring case.
    pub fn recipient_named(&self, name: &str) -> Result<Recipient> {
        match self.find(name) {
            Ok(c) => Ok(Recipient::Comrade(c.id)),
            Err(Error::NotFound { .. }) => match self.find_circle(name) {
                Ok(circle) => Ok(Recipient::Circle(circle.id)),
                Err(Error::NotFound { .. }) => Err(Error::NotFound {
                    what: "comrade or circle",
                }),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    fn change_circle(
        &self,
        id: CircleId,
        change: impl FnOnce(&Connection, i64) -> Result<()>,
    ) -> Result<Circle> {
        self.vault.with_tx(|tx| {
            let seq = seq_of(tx, id)?;
            change(tx, seq)?;
            load(tx, seq)
        })
    }
}

/// The row numbers of a circle's members.
pub(crate) fn member_seqs(conn: &Connection, id: CircleId) -> Result<Vec<i64>> {
    let seq = seq_of(conn, id)?;
    Ok(conn
        .prepare_cached("SELECT comrade FROM circle_members WHERE circle = ?1")?
        .query_map([seq], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

fn seq_of(conn: &Connection, id: CircleId) -> Result<i64> {
    conn.query_row(
        "SELECT seq FROM circles WHERE id = ?1",
        [id.to_string()],
        |r| r.get(0),
    )
    .optional()?
    .ok_or(Error::NotFound { what: "circle" })
}

fn load(conn: &Connection, seq: i64) -> Result<Circle> {
    let (id, name, created): (String, String, i64) = conn.query_row(
        "SELECT id, name, created_at FROM circles WHERE seq = ?1",
        [seq],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let members = conn
        .prepare_cached(
            "SELECT c.id FROM circle_members m JOIN comrades c ON c.seq = m.comrade
             WHERE m.circle = ?1 ORDER BY c.name",
        )?
        .query_map([seq], |r| r.get::<_, String>(0))?
        .map(|id| id?.parse().map_err(|_| Error::DatabaseDamaged))
        .collect::<Result<_>>()?;
    Ok(Circle {
        id: id.parse().map_err(|_| Error::DatabaseDamaged)?,
        name,
        members,
        created_at: from_ms(created)?,
    })
}

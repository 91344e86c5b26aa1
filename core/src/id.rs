//! Ids for things members keep: UUIDv7, time-ordered so new rows append to
//! indexes instead of landing on random pages.

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub(crate) uuid::Uuid);

        impl $name {
            #[allow(dead_code)]
            pub(crate) fn new() -> Self {
                $name(uuid::Uuid::now_v7())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        #[cfg(feature = "uniffi")]
        uniffi::custom_type!($name, String, {
            lower: |id| id.to_string(),
            try_lift: |text| text.parse().map_err(|e: crate::Error| uniffi::deps::anyhow::anyhow!("{e}")),
        });

        impl std::str::FromStr for $name {
            type Err = crate::Error;
            fn from_str(s: &str) -> crate::Result<Self> {
                uuid::Uuid::parse_str(s)
                    .map($name)
                    .map_err(|_| crate::Error::invalid($what, "not a UUID"))
            }
        }
    };
}

pub(crate) use uuid_id;

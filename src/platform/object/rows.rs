//! Typed rows out of object SQLite and D1. A result set crosses from the runtime as one JSON
//! text, parsed once into `serde_json::Value` (the parser every frame already goes through),
//! and each row type reads its columns by name through [`FromRow`], written by [`row!`].
//! This replaces workers-rs's `to_array`/`results`, which walk each row object with
//! serde_wasm_bindgen: a JS call per field, and a deserializer per row type in the Wasm.

use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;
use worker::js_sys::{futures::JsFuture, Array, Promise};
use worker::{D1PreparedStatement, Error, SqlStorage, SqlStorageValue};

// Columns are INTEGER, REAL and TEXT (no BLOB), so JSON carries every value as stored.
#[wasm_bindgen(inline_js = "
export function sqlRows(sql, query, args) {
  return JSON.stringify(sql.exec(query, ...args).toArray());
}
export async function d1Rows(statement) {
  return JSON.stringify((await statement.all()).results ?? []);
}")]
extern "C" {
    #[wasm_bindgen(catch, js_name = sqlRows)]
    fn sql_rows(sql: &JsValue, query: &str, args: Array) -> Result<String, JsValue>;
    #[wasm_bindgen(js_name = d1Rows)]
    fn d1_rows(statement: &JsValue) -> Promise;
}

/// One row: its columns by name.
pub struct Row<'a>(&'a Map<String, Value>);

impl Row<'_> {
    /// Column `name` as a `T`; `None` when it is absent or of another type.
    pub fn get<T: Column>(&self, name: &str) -> Option<T> {
        T::read(self.0.get(name).unwrap_or(&Value::Null))
    }
}

/// A type a row can be read as.
pub trait FromRow: Sized {
    fn from_row(row: &Row) -> Option<Self>;
}

/// The whole row as a JSON object (for statements whose rows are not read).
impl FromRow for Value {
    fn from_row(row: &Row) -> Option<Self> {
        Some(Value::Object(row.0.clone()))
    }
}

/// A type one column can be read as. NULL is only an `Option`'s `None`.
pub trait Column: Sized {
    fn read(v: &Value) -> Option<Self>;
}

impl Column for i64 {
    fn read(v: &Value) -> Option<Self> {
        v.as_i64()
    }
}

impl Column for f64 {
    fn read(v: &Value) -> Option<Self> {
        v.as_f64()
    }
}

impl Column for String {
    fn read(v: &Value) -> Option<Self> {
        v.as_str().map(str::to_string)
    }
}

impl<T: Column> Column for Option<T> {
    fn read(v: &Value) -> Option<Self> {
        if v.is_null() {
            Some(None)
        } else {
            T::read(v).map(Some)
        }
    }
}

/// A struct whose fields are columns of the same names, and its [`FromRow`].
macro_rules! row {
    ($(#[$m:meta])* $vis:vis struct $name:ident {
        $($(#[$fm:meta])* $fvis:vis $field:ident : $ty:ty),* $(,)?
    }) => {
        $(#[$m])* $vis struct $name { $($(#[$fm])* $fvis $field: $ty),* }
        impl $crate::platform::object::rows::FromRow for $name {
            fn from_row(row: &$crate::platform::object::rows::Row) -> Option<Self> {
                Some(Self { $($field: row.get(stringify!($field))?),* })
            }
        }
    };
}
pub(crate) use row;

/// Rows of a query on an object's SQLite.
pub trait Rows {
    /// Runs `query` with `args` bound to its `?`s and reads every row as a `T`.
    fn rows<T: FromRow>(
        &self,
        query: &str,
        args: Option<Vec<SqlStorageValue>>,
    ) -> worker::Result<Vec<T>>;
}

impl Rows for SqlStorage {
    fn rows<T: FromRow>(
        &self,
        query: &str,
        args: Option<Vec<SqlStorageValue>>,
    ) -> worker::Result<Vec<T>> {
        let bound = Array::new();
        for arg in args.unwrap_or_default() {
            bound.push(&arg.into());
        }
        read(&sql_rows(self.as_ref(), query, bound)?)
    }
}

/// Every row of a D1 statement, read as `T`.
pub async fn d1<T: FromRow>(statement: &D1PreparedStatement) -> worker::Result<Vec<T>> {
    let text = JsFuture::from(d1_rows(statement.inner())).await?;
    read(&text.as_string().unwrap_or_default())
}

fn read<T: FromRow>(text: &str) -> worker::Result<Vec<T>> {
    let rows: Value = serde_json::from_str(text)?;
    let rows = rows.as_array().map(Vec::as_slice).unwrap_or_default();
    rows.iter()
        .map(|row| row.as_object().and_then(|r| T::from_row(&Row(r))))
        .collect::<Option<Vec<T>>>()
        .ok_or_else(|| Error::RustError("a row does not have the columns read".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    row! {
        #[derive(Debug, PartialEq)]
        struct Msg {
            seq: i64,
            kind: String,
            content: Option<String>,
            score: f64,
        }
    }

    #[test]
    fn each_field_is_read_from_the_column_of_its_name() {
        let text = r#"[{"seq":7,"kind":"chat_message","content":null,"score":2,"extra":1},
                       {"seq":8,"kind":"message_edit","content":"hi","score":0.5}]"#;
        let rows: Vec<Msg> = read(text).unwrap();
        assert_eq!(
            rows,
            vec![
                Msg {
                    seq: 7,
                    kind: "chat_message".into(),
                    content: None,
                    score: 2.0
                },
                Msg {
                    seq: 8,
                    kind: "message_edit".into(),
                    content: Some("hi".into()),
                    score: 0.5
                },
            ]
        );
    }

    #[test]
    fn an_absent_nullable_column_is_none_and_no_rows_is_empty() {
        let rows: Vec<Msg> = read(r#"[{"seq":1,"kind":"k","score":0}]"#).unwrap();
        assert_eq!(rows[0].content, None);
        assert!(read::<Msg>("[]").unwrap().is_empty());
    }

    #[test]
    fn a_missing_or_mistyped_column_fails_the_whole_read() {
        for text in [
            r#"[{"seq":1,"kind":"k","score":0},{"kind":"k","score":0}]"#,
            r#"[{"seq":"1","kind":"k","score":0}]"#,
            r#"[{"seq":1,"kind":null,"score":0}]"#,
            r#"[{"seq":1.5,"kind":"k","score":0}]"#,
        ] {
            let err = read::<Msg>(text).unwrap_err().to_string();
            assert_eq!(err, "a row does not have the columns read", "{text}");
        }
    }

    #[test]
    fn a_row_read_as_json_is_the_whole_object() {
        let rows: Vec<Value> = read(r#"[{"a":1,"b":"x"}]"#).unwrap();
        assert_eq!(rows, vec![serde_json::json!({"a": 1, "b": "x"})]);
    }
}

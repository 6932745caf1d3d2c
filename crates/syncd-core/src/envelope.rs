//! The success body of every API answer, written once: `{"success": true, …}`.

use serde::Serialize;

/// `{"success": true, …body's fields}`. [`Envelope::data`] makes the common
/// `{"success": true, "data": …}`; pages and the push answer put their own fields (`data`,
/// `cursor`, `hasMore`, …) beside `success` with [`Envelope::flat`].
#[derive(Debug, Clone, Serialize)]
pub struct Envelope<T> {
    success: bool,
    #[serde(flatten)]
    body: T,
}

/// The body of [`Envelope::data`].
#[derive(Debug, Clone, Serialize)]
pub struct Data<T> {
    pub data: T,
}

impl<T> Envelope<Data<T>> {
    pub fn data(data: T) -> Self {
        Envelope::flat(Data { data })
    }
}

impl<T> Envelope<T> {
    /// `body` must serialise as an object (a struct or a map).
    pub fn flat(body: T) -> Self {
        Envelope {
            success: true,
            body,
        }
    }
}

impl<T: Serialize> Envelope<T> {
    /// The JSON of a page of `records` records, in a buffer sized up front: a 10 000-record
    /// pull is megabytes, and growing the buffer by doubling copies it over and over.
    pub fn page_json(&self, records: usize) -> serde_json::Result<Vec<u8>> {
        let mut body = Vec::with_capacity(256 + records * 400);
        serde_json::to_writer(&mut body, self)?;
        Ok(body)
    }
}

//! Integration tests of the serialization codec: JDK golden streams, JRMP captures, round trips
//! and hostile input, in one test binary.

mod captures;
mod common;
mod golden;
mod hostile;
mod roundtrip;

//! What the result files say, side by side, before anything is drawn: the comparison of
//! files, the fleet summary and the leaderboard, each a model built from files that
//! [`ingest`] has read, validated and priced. `report` renders these models; nothing here
//! prints or writes.

pub mod compare;
pub mod fleet;
pub mod ingest;
pub mod leaderboard;

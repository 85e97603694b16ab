//! flopcost: what a unit of neural-network training work costs on a given accelerator.
//!
//! The pipeline runs one way: [`cli`] builds a validated plan; [`gpu`] chooses the
//! adapter and opens the device; [`workloads`] runs each benchmark through a kernel from
//! [`kernels`], checks it with [`verify`], times it and summarises the samples with
//! [`stats`]; [`result`] stores the records in a file rewritten atomically after each
//! one; [`report`] shows them.

pub mod cli;
pub mod commands;
pub mod cost;
pub mod error;
pub mod gpu;
pub mod host;
pub mod interrupt;
pub mod kernels;
pub mod report;
pub mod result;
pub mod stats;
pub mod verify;
pub mod workloads;

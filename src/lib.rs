//! pyenv-guix: per-project Python environments for bash, zsh and fish,
//! on GNU Guix or on the host's Python.

pub mod activation;
pub mod buildlock;
pub mod cache;
pub mod cli;
pub mod commands;
pub mod context;
pub mod envdiff;
pub mod fsutil;
pub mod guix;
pub mod interpreter;
pub mod libraries;
pub mod log;
pub mod manifest;
pub mod materialise;
pub mod pip;
pub mod pyenv;
pub mod requirement;
pub mod rewrite;
pub mod scheme;
pub mod shells;
pub mod state;
pub mod trust;

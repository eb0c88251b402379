#![allow(unreachable_pub)]
//! rtctl's integration tests: one test binary (so it links once), a module per area. Every
//! test talks over real HTTP on loopback: to an emulator started in-process on
//! `127.0.0.1:0`, or to the real `rtctl` binary.

mod contract;
mod control;
mod doctor;
mod e2e;
mod harness;
mod hostile;
mod schema;
mod support;

mod audit;
mod auth;
mod book;
mod browser;
mod emulator_binary;
mod emulator_client_init;
mod emulator_faults;
mod emulator_pagination;
mod emulator_persistence;
mod emulator_surfaces;
mod emulator_tokens;
mod emulator_widget;
mod faults;
mod generated;
mod hardening;
mod interrupts;
mod live_check;
mod local;
mod newcomer;
mod origins;
mod overlap;
mod plan;
mod prompts;
mod published;
mod recipes;
mod release;
mod rollovers;
mod sinks;
mod snippet;
mod surfaces;
mod token_values;
mod tokens;
mod walkthrough;
mod whole_reads;

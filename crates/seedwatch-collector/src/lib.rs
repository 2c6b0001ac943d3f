//! The seedwatch collector: receives OTLP from agents, derives the agent metrics, watches
//! health and cost, and exports to Prometheus, Elasticsearch, OTLP backends and Alertmanager.
//!
//! Layout: one folder per role — [`receivers`], [`processors`], [`exporters`], [`server`] —
//! joined by the [`pipeline`]; [`config`] parses and validates everything before [`app`]
//! starts anything.

pub mod agents;
pub mod alerting;
pub mod app;
pub mod budgets;
pub mod clock;
pub mod config;
pub mod dashboard;
pub mod derived_metrics;
pub mod exporters;
pub mod health;
pub mod limits;
pub mod listener;
pub mod otlp_wire;
pub mod own_logs;
pub mod pipeline;
pub mod processors;
pub mod receivers;
pub mod security;
pub mod server;
pub mod shared;
pub mod telemetry;

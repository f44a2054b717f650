//! Seeded, realistic workloads: guilds, READY, GUILD_CREATE and a stream of tagged dispatches. (work in progress)

-- Raw access-log entries are written tens of thousands a second: two btrees cost PostgreSQL more
-- than the rows themselves. Entries arrive in time order and searches read a time window (BRIN);
-- a trace is looked up by equality only (hash). Built on every existing day partition.
DROP INDEX "access_log_entries_at_idx";--> statement-breakpoint
DROP INDEX "access_log_entries_trace_idx";--> statement-breakpoint
CREATE INDEX "access_log_entries_at_idx" ON "access_log_entries" USING brin ("at");--> statement-breakpoint
CREATE INDEX "access_log_entries_trace_idx" ON "access_log_entries" USING hash ("trace_id");
DROP INDEX "access_log_entries_at_idx";--> statement-breakpoint
DROP INDEX "access_log_entries_trace_idx";--> statement-breakpoint
CREATE INDEX "access_log_entries_at_idx" ON "access_log_entries" USING brin ("at");--> statement-breakpoint
CREATE INDEX "access_log_entries_trace_idx" ON "access_log_entries" USING hash ("trace_id");
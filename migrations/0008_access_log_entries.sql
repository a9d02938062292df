-- Partitioned by day on "at" (written by hand after drizzle-kit generated the table): the days are
-- created ahead and dropped whole past the retention by src/registry/access-logs.ts.
CREATE TABLE "access_log_entries" (
	"at" timestamp with time zone NOT NULL,
	"proxy_id" text NOT NULL,
	"protocol" text NOT NULL,
	"direction" text NOT NULL,
	"source" text,
	"destination" text,
	"method" text,
	"path" text,
	"status" integer,
	"duration_ms" double precision,
	"bytes_received" bigint DEFAULT 0 NOT NULL,
	"bytes_sent" bigint DEFAULT 0 NOT NULL,
	"trace_id" text,
	"request_id" text
) PARTITION BY RANGE ("at");
--> statement-breakpoint
CREATE INDEX "access_log_entries_at_idx" ON "access_log_entries" USING btree ("at");--> statement-breakpoint
CREATE INDEX "access_log_entries_trace_idx" ON "access_log_entries" USING btree ("trace_id");
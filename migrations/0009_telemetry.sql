-- The rollup tables are partitioned by day on "bucket" (written by hand after drizzle-kit generated them),
-- like access_log_entries: src/registry/partitions.ts creates days ahead and drops whole days past the retention.
CREATE TABLE "alert_rules" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"kind" text NOT NULL,
	"service" text,
	"params" jsonb NOT NULL,
	"for_ms" integer DEFAULT 0 NOT NULL,
	"severity" text DEFAULT 'warning' NOT NULL,
	"webhook_url" text,
	"enabled" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "alerts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"rule_id" uuid,
	"rule_name" text NOT NULL,
	"subject" text NOT NULL,
	"state" text NOT NULL,
	"severity" text NOT NULL,
	"value" double precision,
	"message" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"fired_at" timestamp with time zone,
	"resolved_at" timestamp with time zone,
	"deliveries" jsonb DEFAULT '[]'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "cluster_stats" (
	"proxy_id" text NOT NULL,
	"cluster" text NOT NULL,
	"stat" text NOT NULL,
	"value" double precision NOT NULL,
	"replica" text NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "cluster_stats_proxy_id_cluster_stat_pk" PRIMARY KEY("proxy_id","cluster","stat")
);
--> statement-breakpoint
CREATE TABLE "traffic_rollups_hour" (
	"bucket" timestamp with time zone NOT NULL,
	"replica" text NOT NULL,
	"kind" text NOT NULL,
	"reporter" text NOT NULL,
	"source" text NOT NULL,
	"destination" text NOT NULL,
	"route" text NOT NULL,
	"requests" bigint NOT NULL,
	"status_2xx" bigint NOT NULL,
	"status_3xx" bigint NOT NULL,
	"status_4xx" bigint NOT NULL,
	"status_5xx" bigint NOT NULL,
	"no_status" bigint NOT NULL,
	"bytes_received" bigint NOT NULL,
	"bytes_sent" bigint NOT NULL,
	"latency" jsonb NOT NULL,
	CONSTRAINT "traffic_rollups_hour_bucket_replica_kind_reporter_source_destination_route_pk" PRIMARY KEY("bucket","replica","kind","reporter","source","destination","route")
) PARTITION BY RANGE ("bucket");
--> statement-breakpoint
CREATE TABLE "traffic_rollups_minute" (
	"bucket" timestamp with time zone NOT NULL,
	"replica" text NOT NULL,
	"kind" text NOT NULL,
	"reporter" text NOT NULL,
	"source" text NOT NULL,
	"destination" text NOT NULL,
	"route" text NOT NULL,
	"requests" bigint NOT NULL,
	"status_2xx" bigint NOT NULL,
	"status_3xx" bigint NOT NULL,
	"status_4xx" bigint NOT NULL,
	"status_5xx" bigint NOT NULL,
	"no_status" bigint NOT NULL,
	"bytes_received" bigint NOT NULL,
	"bytes_sent" bigint NOT NULL,
	"latency" jsonb NOT NULL,
	CONSTRAINT "traffic_rollups_minute_bucket_replica_kind_reporter_source_destination_route_pk" PRIMARY KEY("bucket","replica","kind","reporter","source","destination","route")
) PARTITION BY RANGE ("bucket");
--> statement-breakpoint
ALTER TABLE "access_log_entries" ADD COLUMN "grpc_status" integer;--> statement-breakpoint
ALTER TABLE "access_log_entries" ADD COLUMN "route" text;--> statement-breakpoint
ALTER TABLE "replicas" ADD COLUMN "telemetry" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_rule_id_alert_rules_id_fk" FOREIGN KEY ("rule_id") REFERENCES "public"."alert_rules"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "alert_rules_name_key" ON "alert_rules" USING btree ("name");--> statement-breakpoint
CREATE INDEX "alerts_started_idx" ON "alerts" USING btree ("started_at");--> statement-breakpoint
CREATE UNIQUE INDEX "alerts_open_key" ON "alerts" USING btree ("rule_id","subject") WHERE "alerts"."state" <> 'resolved';--> statement-breakpoint
CREATE INDEX "cluster_stats_updated_idx" ON "cluster_stats" USING btree ("updated_at");
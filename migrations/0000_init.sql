CREATE TABLE "changes" (
	"revision" bigint PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"op" text NOT NULL,
	"namespace" text NOT NULL,
	"name" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "endpoints" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"service_id" uuid NOT NULL,
	"address" text NOT NULL,
	"port" integer NOT NULL,
	"weight" integer DEFAULT 1 NOT NULL,
	"region" text DEFAULT '' NOT NULL,
	"zone" text DEFAULT '' NOT NULL,
	"sub_zone" text DEFAULT '' NOT NULL,
	"labels" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"health" text DEFAULT 'healthy' NOT NULL,
	"ttl_seconds" integer,
	"last_heartbeat_at" timestamp with time zone,
	"revision" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "endpoints_health_check" CHECK ("endpoints"."health" in ('healthy', 'unhealthy', 'draining', 'unknown')),
	CONSTRAINT "endpoints_port_check" CHECK ("endpoints"."port" between 1 and 65535),
	CONSTRAINT "endpoints_weight_check" CHECK ("endpoints"."weight" between 1 and 10000)
);
--> statement-breakpoint
CREATE TABLE "mesh_revision" (
	"id" smallint PRIMARY KEY NOT NULL,
	"value" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "services" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"namespace" text NOT NULL,
	"name" text NOT NULL,
	"protocol" text NOT NULL,
	"port" integer NOT NULL,
	"tags" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"labels" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"version" text,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"revision" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "services_protocol_check" CHECK ("services"."protocol" in ('http', 'http2', 'grpc', 'tcp')),
	CONSTRAINT "services_port_check" CHECK ("services"."port" between 1 and 65535)
);
--> statement-breakpoint
ALTER TABLE "endpoints" ADD CONSTRAINT "endpoints_service_id_services_id_fk" FOREIGN KEY ("service_id") REFERENCES "public"."services"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "changes_at_idx" ON "changes" USING btree ("at");--> statement-breakpoint
CREATE UNIQUE INDEX "endpoints_service_address_port_key" ON "endpoints" USING btree ("service_id","address","port");--> statement-breakpoint
CREATE INDEX "endpoints_ttl_idx" ON "endpoints" USING btree ("ttl_seconds") WHERE "endpoints"."ttl_seconds" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "services_namespace_name_key" ON "services" USING btree ("namespace","name");
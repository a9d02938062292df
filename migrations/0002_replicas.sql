CREATE TABLE "replicas" (
	"id" text PRIMARY KEY NOT NULL,
	"api_url" text NOT NULL,
	"leader" boolean DEFAULT false NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"proxies" jsonb DEFAULT '[]'::jsonb NOT NULL
);

CREATE TABLE "accounts" (
	"id" bigint PRIMARY KEY NOT NULL,
	"kind" smallint NOT NULL,
	"public_key" "bytea",
	"next_sequence" bigint DEFAULT 0 NOT NULL,
	"previous" "bytea" NOT NULL,
	"balance" bigint DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "user_balance_non_negative" CHECK ("accounts"."kind" <> 0 OR "accounts"."balance" >= 0)
);
--> statement-breakpoint
CREATE TABLE "checkpoints" (
	"size" bigint PRIMARY KEY NOT NULL,
	"root" "bytea" NOT NULL,
	"time" bigint NOT NULL,
	"signature" "bytea" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "deposit_addresses" (
	"address" text PRIMARY KEY NOT NULL,
	"account" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "deposits" (
	"id" text PRIMARY KEY NOT NULL,
	"address" text NOT NULL,
	"account" bigint NOT NULL,
	"amount" bigint NOT NULL,
	"credited_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "entries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"debit" bigint NOT NULL,
	"credit" bigint NOT NULL,
	"amount" bigint NOT NULL,
	"kind" text NOT NULL,
	"ref" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "amount_positive" CHECK ("entries"."amount" > 0)
);
--> statement-breakpoint
CREATE TABLE "meta" (
	"key" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "receipts" (
	"account" bigint NOT NULL,
	"sequence" bigint NOT NULL,
	"call_hash" "bytea" NOT NULL,
	"call" jsonb NOT NULL,
	"receipt" "bytea" NOT NULL,
	"log_index" bigint NOT NULL,
	"leaf_hash" "bytea" NOT NULL,
	CONSTRAINT "receipts_account_sequence_pk" PRIMARY KEY("account","sequence"),
	CONSTRAINT "receipts_log_index_unique" UNIQUE("log_index")
);
--> statement-breakpoint
CREATE TABLE "withdrawal_batches" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"status" text NOT NULL,
	"txid" text,
	"raw_tx" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "withdrawals" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"account" bigint NOT NULL,
	"amount" bigint NOT NULL,
	"address" text NOT NULL,
	"status" text NOT NULL,
	"batch_id" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "deposit_addresses_account" ON "deposit_addresses" USING btree ("account");--> statement-breakpoint
CREATE INDEX "entries_debit" ON "entries" USING btree ("debit");--> statement-breakpoint
CREATE INDEX "entries_credit" ON "entries" USING btree ("credit");--> statement-breakpoint
CREATE INDEX "withdrawals_status" ON "withdrawals" USING btree ("status");
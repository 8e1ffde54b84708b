-- 0005_normalizer_version: which normalizer wrote a market-data row.
--
-- `tapewire renormalize` rewrites the rows of a stored time range from raw_frames through
-- the current normalizer and stores its version (streams/normalize/version.py,
-- NORMALIZER_VERSION) in every row it writes. Rows written by the live pipeline (the sink
-- reading md.* from Kafka) get the DEFAULT '': the Avro records do not carry the version.
-- Compatible: existing rows read as '', and every writer names its columns, so inserts
-- without the column keep working. See docs/normalizer.md, "Re-normalizing history".

ALTER TABLE trades ADD COLUMN IF NOT EXISTS normalizer_version LowCardinality(String) DEFAULT ''
    COMMENT 'normalizer version that wrote the row (tapewire renormalize); empty = live pipeline';

ALTER TABLE book_updates ADD COLUMN IF NOT EXISTS normalizer_version LowCardinality(String) DEFAULT ''
    COMMENT 'normalizer version that wrote the row (tapewire renormalize); empty = live pipeline';

ALTER TABLE quotes ADD COLUMN IF NOT EXISTS normalizer_version LowCardinality(String) DEFAULT ''
    COMMENT 'normalizer version that wrote the row (tapewire renormalize); empty = live pipeline';

ALTER TABLE coverage ADD COLUMN IF NOT EXISTS normalizer_version LowCardinality(String) DEFAULT ''
    COMMENT 'normalizer version that wrote the row (tapewire renormalize); empty = live pipeline';

ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS normalizer_version LowCardinality(String) DEFAULT ''
    COMMENT 'normalizer version that wrote the row (tapewire renormalize); empty = live pipeline or another stage';

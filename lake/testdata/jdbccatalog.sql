-- The catalog tables of Apache Iceberg Java's JdbcCatalog, schema version V1,
-- as org.apache.iceberg.jdbc.JdbcUtil (Iceberg 1.5 and later) creates them:
-- V0_CREATE_CATALOG_SQL, then V1_UPDATE_CATALOG_SQL (which JdbcCatalog runs
-- when jdbc.schema-version=V1; Trino's JDBC catalog defaults to V1), then
-- CREATE_NAMESPACE_PROPERTIES_TABLE_SQL. Statements are separated by ';'.
CREATE TABLE iceberg_tables(catalog_name VARCHAR(255) NOT NULL,table_namespace VARCHAR(255) NOT NULL,table_name VARCHAR(255) NOT NULL,metadata_location VARCHAR(1000),previous_metadata_location VARCHAR(1000),PRIMARY KEY (catalog_name, table_namespace, table_name));
ALTER TABLE iceberg_tables ADD COLUMN iceberg_type VARCHAR(5);
CREATE TABLE iceberg_namespace_properties(catalog_name VARCHAR(255) NOT NULL,namespace VARCHAR(255) NOT NULL,property_key VARCHAR(255),property_value VARCHAR(1000),PRIMARY KEY (catalog_name, namespace, property_key));

//! The import of figures from CSV and XLSX.

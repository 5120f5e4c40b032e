SELECT class_name, fields FROM asyncapex_sensitive_field ORDER BY class_name

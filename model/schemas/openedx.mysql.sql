--
-- Create model ContentType
--
CREATE TABLE `django_content_type` (`id` integer AUTO_INCREMENT NOT NULL PRIMARY KEY, `name` varchar(100) NOT NULL, `app_label` varchar(100) NOT NULL, `model` varchar(100) NOT NULL);
--
-- Alter unique_together for contenttype (1 constraint(s))
--
ALTER TABLE `django_content_type` ADD CONSTRAINT `django_content_type_app_label_model_76bd3d3b_uniq` UNIQUE (`app_label`, `model`);
--
-- Change Meta options on contenttype
--
-- (no-op)
--
-- Alter field name on contenttype
--
ALTER TABLE `django_content_type` MODIFY `name` varchar(100) NULL;
--
-- Raw Python operation
--
-- THIS OPERATION CANNOT BE WRITTEN AS SQL
--
-- Remove field name from contenttype
--
ALTER TABLE `django_content_type` DROP COLUMN `name`;
--
-- Create model Permission
--
CREATE TABLE `auth_permission` (`id` integer AUTO_INCREMENT NOT NULL PRIMARY KEY, `name` varchar(50) NOT NULL, `content_type_id` integer NOT NULL, `codename` varchar(100) NOT NULL);
--
-- Create model Group
--
CREATE TABLE `auth_group` (`id` integer AUTO_INCREMENT NOT NULL PRIMARY KEY, `name` varchar(80) NOT NULL UNIQUE);
CREATE TABLE `auth_group_permissions` (`id` integer AUTO_INCREMENT NOT NULL PRIMARY KEY, `group_id` integer NOT NULL, `permission_id` integer NOT NULL);
--
-- Create model User
--
CREATE TABLE `auth_user` (`id` integer AUTO_INCREMENT NOT NULL PRIMARY KEY, `password` varchar(128) NOT NULL, `last_login` datetime(6) NOT NULL, `is_superuser` bool NOT NULL, `username` varchar(30) NOT NULL UNIQUE, `first_name` varchar(30) NOT NULL, `last_name` varchar(30) NOT NULL, `email` varchar(75) NOT NULL, `is_staff` bool NOT NULL, `is_active` bool NOT NULL, `date_joined` datetime(6) NOT NULL);
CREATE TABLE `auth_user_groups` (`id` integer AUTO_INCREMENT NOT NULL PRIMARY KEY, `user_id` integer NOT NULL, `group_id` integer NOT NULL);
CREATE TABLE `auth_user_user_permissions` (`id` integer AUTO_INCREMENT NOT NULL PRIMARY KEY, `user_id` integer NOT NULL, `permission_id` integer NOT NULL);
ALTER TABLE `auth_permission` ADD CONSTRAINT `auth_permission_content_type_id_codename_01ab375a_uniq` UNIQUE (`content_type_id`, `codename`);
ALTER TABLE `auth_permission` ADD CONSTRAINT `auth_permission_content_type_id_2f476e4b_fk_django_co` FOREIGN KEY (`content_type_id`) REFERENCES `django_content_type` (`id`);
ALTER TABLE `auth_group_permissions` ADD CONSTRAINT `auth_group_permissions_group_id_permission_id_0cd325b0_uniq` UNIQUE (`group_id`, `permission_id`);
ALTER TABLE `auth_group_permissions` ADD CONSTRAINT `auth_group_permissions_group_id_b120cbf9_fk_auth_group_id` FOREIGN KEY (`group_id`) REFERENCES `auth_group` (`id`);
ALTER TABLE `auth_group_permissions` ADD CONSTRAINT `auth_group_permissio_permission_id_84c5c92e_fk_auth_perm` FOREIGN KEY (`permission_id`) REFERENCES `auth_permission` (`id`);
ALTER TABLE `auth_user_groups` ADD CONSTRAINT `auth_user_groups_user_id_group_id_94350c0c_uniq` UNIQUE (`user_id`, `group_id`);
ALTER TABLE `auth_user_groups` ADD CONSTRAINT `auth_user_groups_user_id_6a12ed8b_fk_auth_user_id` FOREIGN KEY (`user_id`) REFERENCES `auth_user` (`id`);
ALTER TABLE `auth_user_groups` ADD CONSTRAINT `auth_user_groups_group_id_97559544_fk_auth_group_id` FOREIGN KEY (`group_id`) REFERENCES `auth_group` (`id`);
ALTER TABLE `auth_user_user_permissions` ADD CONSTRAINT `auth_user_user_permissions_user_id_permission_id_14a6b632_uniq` UNIQUE (`user_id`, `permission_id`);
ALTER TABLE `auth_user_user_permissions` ADD CONSTRAINT `auth_user_user_permissions_user_id_a95ead1b_fk_auth_user_id` FOREIGN KEY (`user_id`) REFERENCES `auth_user` (`id`);
ALTER TABLE `auth_user_user_permissions` ADD CONSTRAINT `auth_user_user_permi_permission_id_1fbb5f2c_fk_auth_perm` FOREIGN KEY (`permission_id`) REFERENCES `auth_permission` (`id`);
--
-- Alter field name on permission
--
ALTER TABLE `auth_permission` MODIFY `name` varchar(255) NOT NULL;
--
-- Alter field email on user
--
ALTER TABLE `auth_user` MODIFY `email` varchar(254) NOT NULL;
--
-- Alter field username on user
--
-- (no-op)
--
-- Alter field last_login on user
--
ALTER TABLE `auth_user` MODIFY `last_login` datetime(6) NULL;
--
-- Alter field username on user
--
-- (no-op)
--
-- Alter field username on user
--
ALTER TABLE `auth_user` MODIFY `username` varchar(150) NOT NULL;
--
-- Alter field last_name on user
--
ALTER TABLE `auth_user` MODIFY `last_name` varchar(150) NOT NULL;
--
-- Alter field name on group
--
ALTER TABLE `auth_group` MODIFY `name` varchar(150) NOT NULL;
--
-- Raw Python operation
--
-- THIS OPERATION CANNOT BE WRITTEN AS SQL
--
-- Alter field first_name on user
--
ALTER TABLE `auth_user` MODIFY `first_name` varchar(150) NOT NULL;
--
-- Create model Bookmark
--
CREATE TABLE `bookmarks_bookmark` (`id` integer AUTO_INCREMENT NOT NULL PRIMARY KEY, `created` datetime(6) NOT NULL, `modified` datetime(6) NOT NULL, `course_key` varchar(255) NOT NULL, `usage_key` varchar(255) NOT NULL, `user_id` integer NOT NULL);
ALTER TABLE `bookmarks_bookmark` ADD CONSTRAINT `bookmarks_bookmark_user_id_usage_key_61eac24b_uniq` UNIQUE (`user_id`, `usage_key`);
ALTER TABLE `bookmarks_bookmark` ADD CONSTRAINT `bookmarks_bookmark_user_id_a26bf17c_fk_auth_user_id` FOREIGN KEY (`user_id`) REFERENCES `auth_user` (`id`);
CREATE INDEX `bookmarks_bookmark_course_key_46609583` ON `bookmarks_bookmark` (`course_key`);
CREATE INDEX `bookmarks_bookmark_usage_key_d07927c9` ON `bookmarks_bookmark` (`usage_key`);
--
-- Create model BlockCompletion
--
CREATE TABLE `completion_blockcompletion` (`id` bigint AUTO_INCREMENT NOT NULL PRIMARY KEY, `created` datetime(6) NOT NULL, `modified` datetime(6) NOT NULL, `course_key` varchar(255) NOT NULL, `block_key` varchar(255) NOT NULL, `block_type` varchar(64) NOT NULL, `completion` double precision NOT NULL, `user_id` integer NOT NULL);
ALTER TABLE `completion_blockcompletion` ADD CONSTRAINT `completion_blockcompleti_course_key_block_key_use_b15bac54_uniq` UNIQUE (`course_key`, `block_key`, `user_id`);
CREATE INDEX `completion_blockcompletion_course_key_97422cb6` ON `completion_blockcompletion` (`course_key`);
CREATE INDEX `completion_blockcompletion_user_id_20994c23` ON `completion_blockcompletion` (`user_id`);
CREATE INDEX `completion_blockcompletio_course_key_block_type_use_0f0d4d2d_idx` ON `completion_blockcompletion` (`course_key`, `block_type`, `user_id`);
CREATE INDEX `completion_blockcompletio_user_id_course_key_modifi_ed54291e_idx` ON `completion_blockcompletion` (`user_id`, `course_key`, `modified`);
--
-- Create model StudentModule
--
CREATE TABLE `courseware_studentmodule` (`id` bigint AUTO_INCREMENT NOT NULL PRIMARY KEY, `module_type` varchar(32) NOT NULL, `module_id` varchar(255) NOT NULL, `course_id` varchar(255) NOT NULL, `state` longtext NULL, `grade` double precision NULL, `max_grade` double precision NULL, `done` varchar(8) NOT NULL, `created` datetime(6) NOT NULL, `modified` datetime(6) NOT NULL, `student_id` integer NOT NULL);
ALTER TABLE `courseware_studentmodule` ADD CONSTRAINT `courseware_studentmodule_student_id_module_id_cou_48e8deef_uniq` UNIQUE (`student_id`, `module_id`, `course_id`);
CREATE INDEX `courseware_studentmodule_module_type_f4f8863f` ON `courseware_studentmodule` (`module_type`);
CREATE INDEX `courseware_studentmodule_course_id_0637cb49` ON `courseware_studentmodule` (`course_id`);
CREATE INDEX `courseware_studentmodule_grade_adac1ba7` ON `courseware_studentmodule` (`grade`);
CREATE INDEX `courseware_studentmodule_created_9976b4ad` ON `courseware_studentmodule` (`created`);
CREATE INDEX `courseware_studentmodule_modified_f6a0b0cc` ON `courseware_studentmodule` (`modified`);
CREATE INDEX `courseware_studentmodule_student_id_c7ed88a0` ON `courseware_studentmodule` (`student_id`);
--
-- Create model CourseEnrollment
--
CREATE TABLE `student_courseenrollment` (`id` integer AUTO_INCREMENT NOT NULL PRIMARY KEY, `course_id` varchar(255) NOT NULL, `created` datetime(6) NULL, `is_active` bool NOT NULL, `mode` varchar(100) NOT NULL, `user_id` integer NOT NULL);
ALTER TABLE `student_courseenrollment` ADD CONSTRAINT `student_courseenrollment_user_id_course_id_5d34a47f_uniq` UNIQUE (`user_id`, `course_id`);
ALTER TABLE `student_courseenrollment` ADD CONSTRAINT `student_courseenrollment_user_id_4263a8e2_fk_auth_user_id` FOREIGN KEY (`user_id`) REFERENCES `auth_user` (`id`);
CREATE INDEX `student_courseenrollment_course_id_a6f93be8` ON `student_courseenrollment` (`course_id`);
CREATE INDEX `student_courseenrollment_created_79829893` ON `student_courseenrollment` (`created`);
